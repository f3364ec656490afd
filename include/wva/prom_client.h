#ifndef WVA_PROM_CLIENT_H
#define WVA_PROM_CLIENT_H
#endif
