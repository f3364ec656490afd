#ifndef WVA_ENGINE_H
#define WVA_ENGINE_H
#endif
