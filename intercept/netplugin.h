/* netplugin.h — the virtual NICs the net plugin presents (the plugin itself is the exported
 * ncclNetPlugin_v8 symbol; NCCL finds it through hack_plugin_dlopen_redirect). */
#ifndef CCSIM_INTERCEPT_NETPLUGIN_H
#define CCSIM_INTERCEPT_NETPLUGIN_H

/* NICs of this virtual node, as NCCL sees them through the plugin (0 without a topology). */
int netplugin_device_count(void);

#endif
