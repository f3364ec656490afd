#ifndef WVA_OBSERVE_H
#define WVA_OBSERVE_H
#endif
