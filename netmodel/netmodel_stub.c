/* netmodel_stub.c — placeholder translation unit until the network model lands. */
typedef int netmodel_placeholder;
