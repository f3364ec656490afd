#ifndef WVA_PLAN_H
#define WVA_PLAN_H
#endif
