#ifndef WVA_FILTER_H
#define WVA_FILTER_H
#endif
