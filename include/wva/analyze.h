#ifndef WVA_ANALYZE_H
#define WVA_ANALYZE_H
#endif
