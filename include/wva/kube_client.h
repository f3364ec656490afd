#ifndef WVA_KUBE_CLIENT_H
#define WVA_KUBE_CLIENT_H
#endif
