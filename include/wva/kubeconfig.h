#ifndef WVA_KUBECONFIG_H
#define WVA_KUBECONFIG_H
#endif
