"""What each procedure is in libvirt's API layer (generated; do not edit).

Made by ``python -m virtwire.protocol.api_facts_gen`` from libvirt 9.0's src/libvirt*.c.
Columns: the C API it serves; the connection driver that implements it (hypervisor,
network, storage, interface, nodedev, secret, nwfilter; None: the daemon itself) and that
driver's member; the error domain of the API's file (NO_SUPPORT and read-only errors are
reported there); whether a read-only connection is refused it (virCheckReadOnlyGoto).
"""

from __future__ import annotations

#: procedure name -> (api, driver kind, driver member, error domain, read-only refused)
API_FACTS: dict[str, tuple[str | None, str | None, str | None, str, bool]] = {
    'REMOTE_PROC_CONNECT_OPEN': ('virConnectOpen', None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_CLOSE': ('virConnectClose', None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_GET_TYPE': ('virConnectGetType', 'hypervisor', 'connectGetType', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_GET_VERSION': ('virConnectGetVersion', 'hypervisor', 'connectGetVersion', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_GET_MAX_VCPUS': ('virConnectGetMaxVcpus', 'hypervisor', 'connectGetMaxVcpus', 'DOMAIN', False),
    'REMOTE_PROC_NODE_GET_INFO': ('virNodeGetInfo', 'hypervisor', 'nodeGetInfo', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_GET_CAPABILITIES': ('virConnectGetCapabilities', 'hypervisor', 'connectGetCapabilities', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_ATTACH_DEVICE': ('virDomainAttachDevice', 'hypervisor', 'domainAttachDevice', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_CREATE': ('virDomainCreate', 'hypervisor', 'domainCreate', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_CREATE_XML': ('virDomainCreateXML', 'hypervisor', 'domainCreateXML', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DEFINE_XML': ('virDomainDefineXML', 'hypervisor', 'domainDefineXML', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DESTROY': ('virDomainDestroy', 'hypervisor', 'domainDestroy', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DETACH_DEVICE': ('virDomainDetachDevice', 'hypervisor', 'domainDetachDevice', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_XML_DESC': ('virDomainGetXMLDesc', 'hypervisor', 'domainGetXMLDesc', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_AUTOSTART': ('virDomainGetAutostart', 'hypervisor', 'domainGetAutostart', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_INFO': ('virDomainGetInfo', 'hypervisor', 'domainGetInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_MAX_MEMORY': ('virDomainGetMaxMemory', 'hypervisor', 'domainGetMaxMemory', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_MAX_VCPUS': ('virDomainGetMaxVcpus', 'hypervisor', 'domainGetMaxVcpus', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_OS_TYPE': ('virDomainGetOSType', 'hypervisor', 'domainGetOSType', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_VCPUS': ('virDomainGetVcpus', 'hypervisor', 'domainGetVcpus', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS': ('virConnectListDefinedDomains', 'hypervisor', 'connectListDefinedDomains', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_LOOKUP_BY_ID': ('virDomainLookupByID', 'hypervisor', 'domainLookupByID', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME': ('virDomainLookupByName', 'hypervisor', 'domainLookupByName', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID': ('virDomainLookupByUUID', 'hypervisor', 'domainLookupByUUID', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS': ('virConnectNumOfDefinedDomains', 'hypervisor', 'connectNumOfDefinedDomains', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_PIN_VCPU': ('virDomainPinVcpu', 'hypervisor', 'domainPinVcpu', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_REBOOT': ('virDomainReboot', 'hypervisor', 'domainReboot', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_RESUME': ('virDomainResume', 'hypervisor', 'domainResume', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_AUTOSTART': ('virDomainSetAutostart', 'hypervisor', 'domainSetAutostart', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_MAX_MEMORY': ('virDomainSetMaxMemory', 'hypervisor', 'domainSetMaxMemory', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_MEMORY': ('virDomainSetMemory', 'hypervisor', 'domainSetMemory', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_VCPUS': ('virDomainSetVcpus', 'hypervisor', 'domainSetVcpus', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SHUTDOWN': ('virDomainShutdown', 'hypervisor', 'domainShutdown', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SUSPEND': ('virDomainSuspend', 'hypervisor', 'domainSuspend', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_UNDEFINE': ('virDomainUndefine', 'hypervisor', 'domainUndefine', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_NETWORKS': ('virConnectListDefinedNetworks', 'network', 'connectListDefinedNetworks', 'NETWORK', False),
    'REMOTE_PROC_CONNECT_LIST_DOMAINS': ('virConnectListDomains', 'hypervisor', 'connectListDomains', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_LIST_NETWORKS': ('virConnectListNetworks', 'network', 'connectListNetworks', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_CREATE': ('virNetworkCreate', 'network', 'networkCreate', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_CREATE_XML': ('virNetworkCreateXML', 'network', 'networkCreateXML', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_DEFINE_XML': ('virNetworkDefineXML', 'network', 'networkDefineXML', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_DESTROY': ('virNetworkDestroy', 'network', 'networkDestroy', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_GET_XML_DESC': ('virNetworkGetXMLDesc', 'network', 'networkGetXMLDesc', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_GET_AUTOSTART': ('virNetworkGetAutostart', 'network', 'networkGetAutostart', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_GET_BRIDGE_NAME': ('virNetworkGetBridgeName', 'network', 'networkGetBridgeName', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_LOOKUP_BY_NAME': ('virNetworkLookupByName', 'network', 'networkLookupByName', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_LOOKUP_BY_UUID': ('virNetworkLookupByUUID', 'network', 'networkLookupByUUID', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_SET_AUTOSTART': ('virNetworkSetAutostart', 'network', 'networkSetAutostart', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_UNDEFINE': ('virNetworkUndefine', 'network', 'networkUndefine', 'NETWORK', True),
    'REMOTE_PROC_CONNECT_NUM_OF_DEFINED_NETWORKS': ('virConnectNumOfDefinedNetworks', 'network', 'connectNumOfDefinedNetworks', 'NETWORK', False),
    'REMOTE_PROC_CONNECT_NUM_OF_DOMAINS': ('virConnectNumOfDomains', 'hypervisor', 'connectNumOfDomains', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_NUM_OF_NETWORKS': ('virConnectNumOfNetworks', 'network', 'connectNumOfNetworks', 'NETWORK', False),
    'REMOTE_PROC_DOMAIN_CORE_DUMP': ('virDomainCoreDump', 'hypervisor', 'domainCoreDump', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_RESTORE': ('virDomainRestore', 'hypervisor', 'domainRestore', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SAVE': ('virDomainSave', 'hypervisor', 'domainSave', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_SCHEDULER_TYPE': ('virDomainGetSchedulerType', 'hypervisor', 'domainGetSchedulerType', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS': ('virDomainGetSchedulerParameters', 'hypervisor', 'domainGetSchedulerParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS': ('virDomainSetSchedulerParameters', 'hypervisor', 'domainSetSchedulerParameters', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_GET_HOSTNAME': ('virConnectGetHostname', 'hypervisor', 'connectGetHostname', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE': ('virConnectSupportsFeature', 'hypervisor', 'connectSupportsFeature', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE': ('virDomainMigratePrepare', 'hypervisor', 'domainMigratePrepare', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PERFORM': ('virDomainMigratePerform', 'hypervisor', 'domainMigratePerform', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_FINISH': ('virDomainMigrateFinish', 'hypervisor', 'domainMigrateFinish', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BLOCK_STATS': ('virDomainBlockStats', 'hypervisor', 'domainBlockStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_INTERFACE_STATS': ('virDomainInterfaceStats', 'hypervisor', 'domainInterfaceStats', 'DOMAIN', False),
    'REMOTE_PROC_AUTH_LIST': (None, None, None, 'NONE', False),
    'REMOTE_PROC_AUTH_SASL_INIT': (None, None, None, 'NONE', False),
    'REMOTE_PROC_AUTH_SASL_START': (None, None, None, 'NONE', False),
    'REMOTE_PROC_AUTH_SASL_STEP': (None, None, None, 'NONE', False),
    'REMOTE_PROC_AUTH_POLKIT': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_NUM_OF_STORAGE_POOLS': ('virConnectNumOfStoragePools', 'storage', 'connectNumOfStoragePools', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_LIST_STORAGE_POOLS': ('virConnectListStoragePools', 'storage', 'connectListStoragePools', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_NUM_OF_DEFINED_STORAGE_POOLS': ('virConnectNumOfDefinedStoragePools', 'storage', 'connectNumOfDefinedStoragePools', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_STORAGE_POOLS': ('virConnectListDefinedStoragePools', 'storage', 'connectListDefinedStoragePools', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_FIND_STORAGE_POOL_SOURCES': ('virConnectFindStoragePoolSources', 'storage', 'connectFindStoragePoolSources', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_CREATE_XML': ('virStoragePoolCreateXML', 'storage', 'storagePoolCreateXML', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_DEFINE_XML': ('virStoragePoolDefineXML', 'storage', 'storagePoolDefineXML', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_CREATE': ('virStoragePoolCreate', 'storage', 'storagePoolCreate', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_BUILD': ('virStoragePoolBuild', 'storage', 'storagePoolBuild', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_DESTROY': ('virStoragePoolDestroy', 'storage', 'storagePoolDestroy', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_DELETE': ('virStoragePoolDelete', 'storage', 'storagePoolDelete', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_UNDEFINE': ('virStoragePoolUndefine', 'storage', 'storagePoolUndefine', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_REFRESH': ('virStoragePoolRefresh', 'storage', 'storagePoolRefresh', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_NAME': ('virStoragePoolLookupByName', 'storage', 'storagePoolLookupByName', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_UUID': ('virStoragePoolLookupByUUID', 'storage', 'storagePoolLookupByUUID', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_VOLUME': ('virStoragePoolLookupByVolume', 'storage', 'storagePoolLookupByVolume', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_GET_INFO': ('virStoragePoolGetInfo', 'storage', 'storagePoolGetInfo', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_GET_XML_DESC': ('virStoragePoolGetXMLDesc', 'storage', 'storagePoolGetXMLDesc', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_GET_AUTOSTART': ('virStoragePoolGetAutostart', 'storage', 'storagePoolGetAutostart', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_SET_AUTOSTART': ('virStoragePoolSetAutostart', 'storage', 'storagePoolSetAutostart', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_POOL_NUM_OF_VOLUMES': ('virStoragePoolNumOfVolumes', 'storage', 'storagePoolNumOfVolumes', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_LIST_VOLUMES': ('virStoragePoolListVolumes', 'storage', 'storagePoolListVolumes', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_CREATE_XML': ('virStorageVolCreateXML', 'storage', 'storageVolCreateXML', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_VOL_DELETE': ('virStorageVolDelete', 'storage', 'storageVolDelete', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_NAME': ('virStorageVolLookupByName', 'storage', 'storageVolLookupByName', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_KEY': ('virStorageVolLookupByKey', 'storage', 'storageVolLookupByKey', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_PATH': ('virStorageVolLookupByPath', 'storage', 'storageVolLookupByPath', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_GET_INFO': ('virStorageVolGetInfo', 'storage', 'storageVolGetInfo', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_GET_XML_DESC': ('virStorageVolGetXMLDesc', 'storage', 'storageVolGetXMLDesc', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_VOL_GET_PATH': ('virStorageVolGetPath', 'storage', 'storageVolGetPath', 'STORAGE', False),
    'REMOTE_PROC_NODE_GET_CELLS_FREE_MEMORY': ('virNodeGetCellsFreeMemory', 'hypervisor', 'nodeGetCellsFreeMemory', 'DOMAIN', False),
    'REMOTE_PROC_NODE_GET_FREE_MEMORY': ('virNodeGetFreeMemory', 'hypervisor', 'nodeGetFreeMemory', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_BLOCK_PEEK': ('virDomainBlockPeek', 'hypervisor', 'domainBlockPeek', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MEMORY_PEEK': ('virDomainMemoryPeek', 'hypervisor', 'domainMemoryPeek', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER': ('virConnectDomainEventRegister', 'hypervisor', 'connectDomainEventRegister', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER': ('virConnectDomainEventDeregister', 'hypervisor', 'connectDomainEventDeregister', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE2': ('virDomainMigratePrepare2', 'hypervisor', 'domainMigratePrepare2', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_FINISH2': ('virDomainMigrateFinish2', 'hypervisor', 'domainMigrateFinish2', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_GET_URI': ('virConnectGetURI', None, None, 'DOMAIN', False),
    'REMOTE_PROC_NODE_NUM_OF_DEVICES': ('virNodeNumOfDevices', 'nodedev', 'nodeNumOfDevices', 'NODEDEV', False),
    'REMOTE_PROC_NODE_LIST_DEVICES': ('virNodeListDevices', 'nodedev', 'nodeListDevices', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_LOOKUP_BY_NAME': ('virNodeDeviceLookupByName', 'nodedev', 'nodeDeviceLookupByName', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_GET_XML_DESC': ('virNodeDeviceGetXMLDesc', 'nodedev', 'nodeDeviceGetXMLDesc', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_GET_PARENT': ('virNodeDeviceGetParent', 'nodedev', 'nodeDeviceGetParent', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_NUM_OF_CAPS': ('virNodeDeviceNumOfCaps', 'nodedev', 'nodeDeviceNumOfCaps', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_LIST_CAPS': ('virNodeDeviceListCaps', 'nodedev', 'nodeDeviceListCaps', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_DETTACH': ('virNodeDeviceDettach', 'hypervisor', 'nodeDeviceDettach', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_RE_ATTACH': ('virNodeDeviceReAttach', 'hypervisor', 'nodeDeviceReAttach', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_RESET': ('virNodeDeviceReset', 'hypervisor', 'nodeDeviceReset', 'NODEDEV', True),
    'REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL': ('virDomainGetSecurityLabel', 'hypervisor', 'domainGetSecurityLabel', 'DOMAIN', False),
    'REMOTE_PROC_NODE_GET_SECURITY_MODEL': ('virNodeGetSecurityModel', 'hypervisor', 'nodeGetSecurityModel', 'DOMAIN', False),
    'REMOTE_PROC_NODE_DEVICE_CREATE_XML': ('virNodeDeviceCreateXML', 'nodedev', 'nodeDeviceCreateXML', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_DESTROY': ('virNodeDeviceDestroy', 'nodedev', 'nodeDeviceDestroy', 'NODEDEV', True),
    'REMOTE_PROC_STORAGE_VOL_CREATE_XML_FROM': ('virStorageVolCreateXMLFrom', 'storage', 'storageVolCreateXMLFrom', 'STORAGE', True),
    'REMOTE_PROC_CONNECT_NUM_OF_INTERFACES': ('virConnectNumOfInterfaces', 'interface', 'connectNumOfInterfaces', 'INTERFACE', False),
    'REMOTE_PROC_CONNECT_LIST_INTERFACES': ('virConnectListInterfaces', 'interface', 'connectListInterfaces', 'INTERFACE', False),
    'REMOTE_PROC_INTERFACE_LOOKUP_BY_NAME': ('virInterfaceLookupByName', 'interface', 'interfaceLookupByName', 'INTERFACE', False),
    'REMOTE_PROC_INTERFACE_LOOKUP_BY_MAC_STRING': ('virInterfaceLookupByMACString', 'interface', 'interfaceLookupByMACString', 'INTERFACE', False),
    'REMOTE_PROC_INTERFACE_GET_XML_DESC': ('virInterfaceGetXMLDesc', 'interface', 'interfaceGetXMLDesc', 'INTERFACE', False),
    'REMOTE_PROC_INTERFACE_DEFINE_XML': ('virInterfaceDefineXML', 'interface', 'interfaceDefineXML', 'INTERFACE', True),
    'REMOTE_PROC_INTERFACE_UNDEFINE': ('virInterfaceUndefine', 'interface', 'interfaceUndefine', 'INTERFACE', True),
    'REMOTE_PROC_INTERFACE_CREATE': ('virInterfaceCreate', 'interface', 'interfaceCreate', 'INTERFACE', True),
    'REMOTE_PROC_INTERFACE_DESTROY': ('virInterfaceDestroy', 'interface', 'interfaceDestroy', 'INTERFACE', True),
    'REMOTE_PROC_CONNECT_DOMAIN_XML_FROM_NATIVE': ('virConnectDomainXMLFromNative', 'hypervisor', 'connectDomainXMLFromNative', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_DOMAIN_XML_TO_NATIVE': ('virConnectDomainXMLToNative', 'hypervisor', 'connectDomainXMLToNative', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_NUM_OF_DEFINED_INTERFACES': ('virConnectNumOfDefinedInterfaces', 'interface', 'connectNumOfDefinedInterfaces', 'INTERFACE', False),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_INTERFACES': ('virConnectListDefinedInterfaces', 'interface', 'connectListDefinedInterfaces', 'INTERFACE', False),
    'REMOTE_PROC_CONNECT_NUM_OF_SECRETS': ('virConnectNumOfSecrets', 'secret', 'connectNumOfSecrets', 'SECRET', False),
    'REMOTE_PROC_CONNECT_LIST_SECRETS': ('virConnectListSecrets', 'secret', 'connectListSecrets', 'SECRET', False),
    'REMOTE_PROC_SECRET_LOOKUP_BY_UUID': ('virSecretLookupByUUID', 'secret', 'secretLookupByUUID', 'SECRET', False),
    'REMOTE_PROC_SECRET_DEFINE_XML': ('virSecretDefineXML', 'secret', 'secretDefineXML', 'SECRET', True),
    'REMOTE_PROC_SECRET_GET_XML_DESC': ('virSecretGetXMLDesc', 'secret', 'secretGetXMLDesc', 'SECRET', False),
    'REMOTE_PROC_SECRET_SET_VALUE': ('virSecretSetValue', 'secret', 'secretSetValue', 'SECRET', True),
    'REMOTE_PROC_SECRET_GET_VALUE': ('virSecretGetValue', 'secret', 'secretGetValue', 'SECRET', True),
    'REMOTE_PROC_SECRET_UNDEFINE': ('virSecretUndefine', 'secret', 'secretUndefine', 'SECRET', True),
    'REMOTE_PROC_SECRET_LOOKUP_BY_USAGE': ('virSecretLookupByUsage', 'secret', 'secretLookupByUsage', 'SECRET', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL': ('virDomainMigratePrepareTunnel', 'hypervisor', 'domainMigratePrepareTunnel', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_IS_SECURE': ('virConnectIsSecure', 'hypervisor', 'connectIsSecure', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_IS_ACTIVE': ('virDomainIsActive', 'hypervisor', 'domainIsActive', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_IS_PERSISTENT': ('virDomainIsPersistent', 'hypervisor', 'domainIsPersistent', 'DOMAIN', False),
    'REMOTE_PROC_NETWORK_IS_ACTIVE': ('virNetworkIsActive', 'network', 'networkIsActive', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_IS_PERSISTENT': ('virNetworkIsPersistent', 'network', 'networkIsPersistent', 'NETWORK', False),
    'REMOTE_PROC_STORAGE_POOL_IS_ACTIVE': ('virStoragePoolIsActive', 'storage', 'storagePoolIsActive', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_IS_PERSISTENT': ('virStoragePoolIsPersistent', 'storage', 'storagePoolIsPersistent', 'STORAGE', False),
    'REMOTE_PROC_INTERFACE_IS_ACTIVE': ('virInterfaceIsActive', 'interface', 'interfaceIsActive', 'INTERFACE', False),
    'REMOTE_PROC_CONNECT_GET_LIB_VERSION': ('virConnectGetLibVersion', 'hypervisor', 'connectGetLibVersion', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_COMPARE_CPU': ('virConnectCompareCPU', 'hypervisor', 'connectCompareCPU', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MEMORY_STATS': ('virDomainMemoryStats', 'hypervisor', 'domainMemoryStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS': ('virDomainAttachDeviceFlags', 'hypervisor', 'domainAttachDeviceFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DETACH_DEVICE_FLAGS': ('virDomainDetachDeviceFlags', 'hypervisor', 'domainDetachDeviceFlags', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_BASELINE_CPU': ('virConnectBaselineCPU', 'hypervisor', 'connectBaselineCPU', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_JOB_INFO': ('virDomainGetJobInfo', 'hypervisor', 'domainGetJobInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_ABORT_JOB': ('virDomainAbortJob', 'hypervisor', 'domainAbortJob', 'DOMAIN', True),
    'REMOTE_PROC_STORAGE_VOL_WIPE': ('virStorageVolWipe', 'storage', 'storageVolWipe', 'STORAGE', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_SET_MAX_DOWNTIME': ('virDomainMigrateSetMaxDowntime', 'hypervisor', 'domainMigrateSetMaxDowntime', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY': ('virConnectDomainEventRegisterAny', 'hypervisor', 'connectDomainEventRegisterAny', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY': ('virConnectDomainEventDeregisterAny', 'hypervisor', 'connectDomainEventDeregisterAny', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_REBOOT': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_RTC_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_WATCHDOG': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_IO_ERROR': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_GRAPHICS': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_UPDATE_DEVICE_FLAGS': ('virDomainUpdateDeviceFlags', 'hypervisor', 'domainUpdateDeviceFlags', 'DOMAIN', True),
    'REMOTE_PROC_NWFILTER_LOOKUP_BY_NAME': ('virNWFilterLookupByName', 'nwfilter', 'nwfilterLookupByName', 'NWFILTER', False),
    'REMOTE_PROC_NWFILTER_LOOKUP_BY_UUID': ('virNWFilterLookupByUUID', 'nwfilter', 'nwfilterLookupByUUID', 'NWFILTER', False),
    'REMOTE_PROC_NWFILTER_GET_XML_DESC': ('virNWFilterGetXMLDesc', 'nwfilter', 'nwfilterGetXMLDesc', 'NWFILTER', False),
    'REMOTE_PROC_CONNECT_NUM_OF_NWFILTERS': ('virConnectNumOfNWFilters', 'nwfilter', 'connectNumOfNWFilters', 'NWFILTER', False),
    'REMOTE_PROC_CONNECT_LIST_NWFILTERS': ('virConnectListNWFilters', 'nwfilter', 'connectListNWFilters', 'NWFILTER', False),
    'REMOTE_PROC_NWFILTER_DEFINE_XML': ('virNWFilterDefineXML', 'nwfilter', 'nwfilterDefineXML', 'NWFILTER', True),
    'REMOTE_PROC_NWFILTER_UNDEFINE': ('virNWFilterUndefine', 'nwfilter', 'nwfilterUndefine', 'NWFILTER', True),
    'REMOTE_PROC_DOMAIN_MANAGED_SAVE': ('virDomainManagedSave', 'hypervisor', 'domainManagedSave', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE': ('virDomainHasManagedSaveImage', 'hypervisor', 'domainHasManagedSaveImage', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MANAGED_SAVE_REMOVE': ('virDomainManagedSaveRemove', 'hypervisor', 'domainManagedSaveRemove', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML': ('virDomainSnapshotCreateXML', 'hypervisor', 'domainSnapshotCreateXML', 'DOMAIN_SNAPSHOT', True),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_GET_XML_DESC': ('virDomainSnapshotGetXMLDesc', 'hypervisor', 'domainSnapshotGetXMLDesc', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_NUM': ('virDomainSnapshotNum', 'hypervisor', 'domainSnapshotNum', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES': ('virDomainSnapshotListNames', 'hypervisor', 'domainSnapshotListNames', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME': ('virDomainSnapshotLookupByName', 'hypervisor', 'domainSnapshotLookupByName', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_HAS_CURRENT_SNAPSHOT': ('virDomainHasCurrentSnapshot', 'hypervisor', 'domainHasCurrentSnapshot', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_CURRENT': ('virDomainSnapshotCurrent', 'hypervisor', 'domainSnapshotCurrent', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_REVERT_TO_SNAPSHOT': ('virDomainRevertToSnapshot', 'hypervisor', 'domainRevertToSnapshot', 'DOMAIN_SNAPSHOT', True),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_DELETE': ('virDomainSnapshotDelete', 'hypervisor', 'domainSnapshotDelete', 'DOMAIN_SNAPSHOT', True),
    'REMOTE_PROC_DOMAIN_GET_BLOCK_INFO': ('virDomainGetBlockInfo', 'hypervisor', 'domainGetBlockInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_IO_ERROR_REASON': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS': ('virDomainCreateWithFlags', 'hypervisor', 'domainCreateWithFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS': ('virDomainSetMemoryParameters', 'hypervisor', 'domainSetMemoryParameters', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_MEMORY_PARAMETERS': ('virDomainGetMemoryParameters', 'hypervisor', 'domainGetMemoryParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_VCPUS_FLAGS': ('virDomainSetVcpusFlags', 'hypervisor', 'domainSetVcpusFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS': ('virDomainGetVcpusFlags', 'hypervisor', 'domainGetVcpusFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_OPEN_CONSOLE': ('virDomainOpenConsole', 'hypervisor', 'domainOpenConsole', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_IS_UPDATED': ('virDomainIsUpdated', 'hypervisor', 'domainIsUpdated', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_GET_SYSINFO': ('virConnectGetSysinfo', 'hypervisor', 'connectGetSysinfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS': ('virDomainSetMemoryFlags', 'hypervisor', 'domainSetMemoryFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS': ('virDomainSetBlkioParameters', 'hypervisor', 'domainSetBlkioParameters', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_BLKIO_PARAMETERS': ('virDomainGetBlkioParameters', 'hypervisor', 'domainGetBlkioParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_SET_MAX_SPEED': ('virDomainMigrateSetMaxSpeed', 'hypervisor', 'domainMigrateSetMaxSpeed', 'DOMAIN', True),
    'REMOTE_PROC_STORAGE_VOL_UPLOAD': ('virStorageVolUpload', 'storage', 'storageVolUpload', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_VOL_DOWNLOAD': ('virStorageVolDownload', 'storage', 'storageVolDownload', 'STORAGE', True),
    'REMOTE_PROC_DOMAIN_INJECT_NMI': ('virDomainInjectNMI', 'hypervisor', 'domainInjectNMI', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SCREENSHOT': ('virDomainScreenshot', 'hypervisor', 'domainScreenshot', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_STATE': ('virDomainGetState', 'hypervisor', 'domainGetState', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3': ('virDomainMigrateBegin3', 'hypervisor', 'domainMigrateBegin3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3': ('virDomainMigratePrepare3', 'hypervisor', 'domainMigratePrepare3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3': ('virDomainMigratePrepareTunnel3', 'hypervisor', 'domainMigratePrepareTunnel3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3': ('virDomainMigratePerform3', 'hypervisor', 'domainMigratePerform3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_FINISH3': ('virDomainMigrateFinish3', 'hypervisor', 'domainMigrateFinish3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3': ('virDomainMigrateConfirm3', 'hypervisor', 'domainMigrateConfirm3', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS': ('virDomainSetSchedulerParametersFlags', 'hypervisor', 'domainSetSchedulerParametersFlags', 'DOMAIN', True),
    'REMOTE_PROC_INTERFACE_CHANGE_BEGIN': ('virInterfaceChangeBegin', 'interface', 'interfaceChangeBegin', 'INTERFACE', True),
    'REMOTE_PROC_INTERFACE_CHANGE_COMMIT': ('virInterfaceChangeCommit', 'interface', 'interfaceChangeCommit', 'INTERFACE', True),
    'REMOTE_PROC_INTERFACE_CHANGE_ROLLBACK': ('virInterfaceChangeRollback', 'interface', 'interfaceChangeRollback', 'INTERFACE', True),
    'REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS': ('virDomainGetSchedulerParametersFlags', 'hypervisor', 'domainGetSchedulerParametersFlags', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_CONTROL_ERROR': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_PIN_VCPU_FLAGS': ('virDomainPinVcpuFlags', 'hypervisor', 'domainPinVcpuFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SEND_KEY': ('virDomainSendKey', 'hypervisor', 'domainSendKey', 'DOMAIN', True),
    'REMOTE_PROC_NODE_GET_CPU_STATS': ('virNodeGetCPUStats', 'hypervisor', 'nodeGetCPUStats', 'DOMAIN', False),
    'REMOTE_PROC_NODE_GET_MEMORY_STATS': ('virNodeGetMemoryStats', 'hypervisor', 'nodeGetMemoryStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_CONTROL_INFO': ('virDomainGetControlInfo', 'hypervisor', 'domainGetControlInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_VCPU_PIN_INFO': ('virDomainGetVcpuPinInfo', 'hypervisor', 'domainGetVcpuPinInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS': ('virDomainUndefineFlags', 'hypervisor', 'domainUndefineFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SAVE_FLAGS': ('virDomainSaveFlags', 'hypervisor', 'domainSaveFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_RESTORE_FLAGS': ('virDomainRestoreFlags', 'hypervisor', 'domainRestoreFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DESTROY_FLAGS': ('virDomainDestroyFlags', 'hypervisor', 'domainDestroyFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SAVE_IMAGE_GET_XML_DESC': ('virDomainSaveImageGetXMLDesc', 'hypervisor', 'domainSaveImageGetXMLDesc', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SAVE_IMAGE_DEFINE_XML': ('virDomainSaveImageDefineXML', 'hypervisor', 'domainSaveImageDefineXML', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BLOCK_JOB_ABORT': ('virDomainBlockJobAbort', 'hypervisor', 'domainBlockJobAbort', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_BLOCK_JOB_INFO': ('virDomainGetBlockJobInfo', 'hypervisor', 'domainGetBlockJobInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_BLOCK_JOB_SET_SPEED': ('virDomainBlockJobSetSpeed', 'hypervisor', 'domainBlockJobSetSpeed', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BLOCK_PULL': ('virDomainBlockPull', 'hypervisor', 'domainBlockPull', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_BLOCK_JOB': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_SPEED': ('virDomainMigrateGetMaxSpeed', 'hypervisor', 'domainMigrateGetMaxSpeed', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS': ('virDomainBlockStatsFlags', 'hypervisor', 'domainBlockStatsFlags', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_GET_PARENT': ('virDomainSnapshotGetParent', 'hypervisor', 'domainSnapshotGetParent', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_RESET': ('virDomainReset', 'hypervisor', 'domainReset', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_NUM_CHILDREN': ('virDomainSnapshotNumChildren', 'hypervisor', 'domainSnapshotNumChildren', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES': ('virDomainSnapshotListChildrenNames', 'hypervisor', 'domainSnapshotListChildrenNames', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_EVENT_DISK_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_OPEN_GRAPHICS': ('virDomainOpenGraphics', 'hypervisor', 'domainOpenGraphics', 'DOMAIN', True),
    'REMOTE_PROC_NODE_SUSPEND_FOR_DURATION': ('virNodeSuspendForDuration', 'hypervisor', 'nodeSuspendForDuration', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BLOCK_RESIZE': ('virDomainBlockResize', 'hypervisor', 'domainBlockResize', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE': ('virDomainSetBlockIoTune', 'hypervisor', 'domainSetBlockIoTune', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE': ('virDomainGetBlockIoTune', 'hypervisor', 'domainGetBlockIoTune', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_NUMA_PARAMETERS': ('virDomainSetNumaParameters', 'hypervisor', 'domainSetNumaParameters', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_NUMA_PARAMETERS': ('virDomainGetNumaParameters', 'hypervisor', 'domainGetNumaParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_INTERFACE_PARAMETERS': ('virDomainSetInterfaceParameters', 'hypervisor', 'domainSetInterfaceParameters', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_INTERFACE_PARAMETERS': ('virDomainGetInterfaceParameters', 'hypervisor', 'domainGetInterfaceParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS': ('virDomainShutdownFlags', 'hypervisor', 'domainShutdownFlags', 'DOMAIN', True),
    'REMOTE_PROC_STORAGE_VOL_WIPE_PATTERN': ('virStorageVolWipePattern', 'storage', 'storageVolWipePattern', 'STORAGE', True),
    'REMOTE_PROC_STORAGE_VOL_RESIZE': ('virStorageVolResize', 'storage', 'storageVolResize', 'STORAGE', True),
    'REMOTE_PROC_DOMAIN_PM_SUSPEND_FOR_DURATION': ('virDomainPMSuspendForDuration', 'hypervisor', 'domainPMSuspendForDuration', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_CPU_STATS': ('virDomainGetCPUStats', 'hypervisor', 'domainGetCPUStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_GET_DISK_ERRORS': ('virDomainGetDiskErrors', 'hypervisor', 'domainGetDiskErrors', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_METADATA': ('virDomainSetMetadata', 'hypervisor', 'domainSetMetadata', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_METADATA': ('virDomainGetMetadata', 'hypervisor', 'domainGetMetadata', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_BLOCK_REBASE': ('virDomainBlockRebase', 'hypervisor', 'domainBlockRebase', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_PM_WAKEUP': ('virDomainPMWakeup', 'hypervisor', 'domainPMWakeup', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_TRAY_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_PMWAKEUP': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_PMSUSPEND': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_IS_CURRENT': ('virDomainSnapshotIsCurrent', 'hypervisor', 'domainSnapshotIsCurrent', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_HAS_METADATA': ('virDomainSnapshotHasMetadata', 'hypervisor', 'domainSnapshotHasMetadata', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS': ('virConnectListAllDomains', 'hypervisor', 'connectListAllDomains', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_LIST_ALL_SNAPSHOTS': ('virDomainListAllSnapshots', 'hypervisor', 'domainListAllSnapshots', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN': ('virDomainSnapshotListAllChildren', 'hypervisor', 'domainSnapshotListAllChildren', 'DOMAIN_SNAPSHOT', False),
    'REMOTE_PROC_DOMAIN_EVENT_BALLOON_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_GET_HOSTNAME': ('virDomainGetHostname', 'hypervisor', 'domainGetHostname', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL_LIST': ('virDomainGetSecurityLabelList', 'hypervisor', 'domainGetSecurityLabelList', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_PIN_EMULATOR': ('virDomainPinEmulator', 'hypervisor', 'domainPinEmulator', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_EMULATOR_PIN_INFO': ('virDomainGetEmulatorPinInfo', 'hypervisor', 'domainGetEmulatorPinInfo', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_STORAGE_POOLS': ('virConnectListAllStoragePools', 'storage', 'connectListAllStoragePools', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES': ('virStoragePoolListAllVolumes', 'storage', 'storagePoolListAllVolumes', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_NETWORKS': ('virConnectListAllNetworks', 'network', 'connectListAllNetworks', 'NETWORK', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_INTERFACES': ('virConnectListAllInterfaces', 'interface', 'connectListAllInterfaces', 'INTERFACE', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_NODE_DEVICES': ('virConnectListAllNodeDevices', 'nodedev', 'connectListAllNodeDevices', 'NODEDEV', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_NWFILTERS': ('virConnectListAllNWFilters', 'nwfilter', 'connectListAllNWFilters', 'NWFILTER', False),
    'REMOTE_PROC_CONNECT_LIST_ALL_SECRETS': ('virConnectListAllSecrets', 'secret', 'connectListAllSecrets', 'SECRET', False),
    'REMOTE_PROC_NODE_SET_MEMORY_PARAMETERS': ('virNodeSetMemoryParameters', 'hypervisor', 'nodeSetMemoryParameters', 'DOMAIN', True),
    'REMOTE_PROC_NODE_GET_MEMORY_PARAMETERS': ('virNodeGetMemoryParameters', 'hypervisor', 'nodeGetMemoryParameters', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_BLOCK_COMMIT': ('virDomainBlockCommit', 'hypervisor', 'domainBlockCommit', 'DOMAIN', True),
    'REMOTE_PROC_NETWORK_UPDATE': ('virNetworkUpdate', 'network', 'networkUpdate', 'NETWORK', True),
    'REMOTE_PROC_DOMAIN_EVENT_PMSUSPEND_DISK': (None, None, None, 'NONE', False),
    'REMOTE_PROC_NODE_GET_CPU_MAP': ('virNodeGetCPUMap', 'hypervisor', 'nodeGetCPUMap', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_FSTRIM': ('virDomainFSTrim', 'hypervisor', 'domainFSTrim', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SEND_PROCESS_SIGNAL': ('virDomainSendProcessSignal', 'hypervisor', 'domainSendProcessSignal', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_OPEN_CHANNEL': ('virDomainOpenChannel', 'hypervisor', 'domainOpenChannel', 'DOMAIN', True),
    'REMOTE_PROC_NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN': ('virNodeDeviceLookupSCSIHostByWWN', 'nodedev', 'nodeDeviceLookupSCSIHostByWWN', 'NODEDEV', False),
    'REMOTE_PROC_DOMAIN_GET_JOB_STATS': ('virDomainGetJobStats', 'hypervisor', 'domainGetJobStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_GET_COMPRESSION_CACHE': ('virDomainMigrateGetCompressionCache', 'hypervisor', 'domainMigrateGetCompressionCache', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_SET_COMPRESSION_CACHE': ('virDomainMigrateSetCompressionCache', 'hypervisor', 'domainMigrateSetCompressionCache', 'DOMAIN', True),
    'REMOTE_PROC_NODE_DEVICE_DETACH_FLAGS': ('virNodeDeviceDetachFlags', 'hypervisor', 'nodeDeviceDetachFlags', 'NODEDEV', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS': ('virDomainMigrateBegin3Params', 'hypervisor', 'domainMigrateBegin3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS': ('virDomainMigratePrepare3Params', 'hypervisor', 'domainMigratePrepare3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS': ('virDomainMigratePrepareTunnel3Params', 'hypervisor', 'domainMigratePrepareTunnel3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS': ('virDomainMigratePerform3Params', 'hypervisor', 'domainMigratePerform3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS': ('virDomainMigrateFinish3Params', 'hypervisor', 'domainMigrateFinish3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS': ('virDomainMigrateConfirm3Params', 'hypervisor', 'domainMigrateConfirm3Params', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_STATS_PERIOD': ('virDomainSetMemoryStatsPeriod', 'hypervisor', 'domainSetMemoryStatsPeriod', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES': ('virDomainCreateXMLWithFiles', 'hypervisor', 'domainCreateXMLWithFiles', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_CREATE_WITH_FILES': ('virDomainCreateWithFiles', 'hypervisor', 'domainCreateWithFiles', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_DEVICE_REMOVED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_GET_CPU_MODEL_NAMES': ('virConnectGetCPUModelNames', 'hypervisor', 'connectGetCPUModelNames', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY': ('virConnectNetworkEventRegisterAny', 'network', 'connectNetworkEventRegisterAny', 'NETWORK', False),
    'REMOTE_PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY': ('virConnectNetworkEventDeregisterAny', 'network', 'connectNetworkEventDeregisterAny', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_EVENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY': ('virConnectDomainEventRegisterAny', 'hypervisor', 'connectDomainEventRegisterAny', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY': ('virConnectDomainEventDeregisterAny', 'hypervisor', 'connectDomainEventDeregisterAny', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_RTC_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_WATCHDOG': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_GRAPHICS': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_CONTROL_ERROR': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BLOCK_JOB': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DISK_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TRAY_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMWAKEUP': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMSUSPEND': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_CORE_DUMP_WITH_FORMAT': ('virDomainCoreDumpWithFormat', 'hypervisor', 'domainCoreDumpWithFormat', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_FSFREEZE': ('virDomainFSFreeze', 'hypervisor', 'domainFSFreeze', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_FSTHAW': ('virDomainFSThaw', 'hypervisor', 'domainFSThaw', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_TIME': ('virDomainGetTime', 'hypervisor', 'domainGetTime', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_TIME': ('virDomainSetTime', 'hypervisor', 'domainSetTime', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_BLOCK_JOB_2': (None, None, None, 'NONE', False),
    'REMOTE_PROC_NODE_GET_FREE_PAGES': ('virNodeGetFreePages', 'hypervisor', 'nodeGetFreePages', 'DOMAIN', False),
    'REMOTE_PROC_NETWORK_GET_DHCP_LEASES': ('virNetworkGetDHCPLeases', 'network', 'networkGetDHCPLeases', 'NETWORK', False),
    'REMOTE_PROC_CONNECT_GET_DOMAIN_CAPABILITIES': ('virConnectGetDomainCapabilities', 'hypervisor', 'connectGetDomainCapabilities', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD': ('virDomainOpenGraphicsFD', 'hypervisor', 'domainOpenGraphicsFD', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS': ('virConnectGetAllDomainStats', 'hypervisor', 'connectGetAllDomainStats', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_BLOCK_COPY': ('virDomainBlockCopy', 'hypervisor', 'domainBlockCopy', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TUNABLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_NODE_ALLOC_PAGES': ('virNodeAllocPages', 'hypervisor', 'nodeAllocPages', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_GET_FSINFO': ('virDomainGetFSInfo', 'hypervisor', 'domainGetFSInfo', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS': ('virDomainDefineXMLFlags', 'hypervisor', 'domainDefineXMLFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_IOTHREAD_INFO': ('virDomainGetIOThreadInfo', 'hypervisor', 'domainGetIOThreadInfo', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_PIN_IOTHREAD': ('virDomainPinIOThread', 'hypervisor', 'domainPinIOThread', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES': ('virDomainInterfaceAddresses', 'hypervisor', 'domainInterfaceAddresses', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_ADD_IOTHREAD': ('virDomainAddIOThread', 'hypervisor', 'domainAddIOThread', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_DEL_IOTHREAD': ('virDomainDelIOThread', 'hypervisor', 'domainDelIOThread', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_USER_PASSWORD': ('virDomainSetUserPassword', 'hypervisor', 'domainSetUserPassword', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_RENAME': ('virDomainRename', 'hypervisor', 'domainRename', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK': ('virConnectRegisterCloseCallback', 'hypervisor', 'connectRegisterCloseCallback', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK': ('virConnectUnregisterCloseCallback', 'hypervisor', 'connectUnregisterCloseCallback', 'DOMAIN', False),
    'REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_MIGRATE_START_POST_COPY': ('virDomainMigrateStartPostCopy', 'hypervisor', 'domainMigrateStartPostCopy', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_PERF_EVENTS': ('virDomainGetPerfEvents', 'hypervisor', 'domainGetPerfEvents', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_SET_PERF_EVENTS': ('virDomainSetPerfEvents', 'hypervisor', 'domainSetPerfEvents', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY': ('virConnectStoragePoolEventRegisterAny', 'storage', 'connectStoragePoolEventRegisterAny', 'STORAGE', False),
    'REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY': ('virConnectStoragePoolEventDeregisterAny', 'storage', 'connectStoragePoolEventDeregisterAny', 'STORAGE', False),
    'REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_GET_GUEST_VCPUS': ('virDomainGetGuestVcpus', 'hypervisor', 'domainGetGuestVcpus', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_GUEST_VCPUS': ('virDomainSetGuestVcpus', 'hypervisor', 'domainSetGuestVcpus', 'DOMAIN', True),
    'REMOTE_PROC_STORAGE_POOL_EVENT_REFRESH': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY': ('virConnectNodeDeviceEventRegisterAny', 'nodedev', 'connectNodeDeviceEventRegisterAny', 'NODEDEV', False),
    'REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY': ('virConnectNodeDeviceEventDeregisterAny', 'nodedev', 'connectNodeDeviceEventDeregisterAny', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_EVENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_NODE_DEVICE_EVENT_UPDATE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_STORAGE_VOL_GET_INFO_FLAGS': ('virStorageVolGetInfoFlags', 'storage', 'storageVolGetInfoFlags', 'STORAGE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY': ('virConnectSecretEventRegisterAny', 'secret', 'connectSecretEventRegisterAny', 'SECRET', False),
    'REMOTE_PROC_CONNECT_SECRET_EVENT_DEREGISTER_ANY': ('virConnectSecretEventDeregisterAny', 'secret', 'connectSecretEventDeregisterAny', 'SECRET', False),
    'REMOTE_PROC_SECRET_EVENT_LIFECYCLE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_SECRET_EVENT_VALUE_CHANGED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_SET_VCPU': ('virDomainSetVcpu', 'hypervisor', 'domainSetVcpu', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_BLOCK_THRESHOLD': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_SET_BLOCK_THRESHOLD': ('virDomainSetBlockThreshold', 'hypervisor', 'domainSetBlockThreshold', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_DOWNTIME': ('virDomainMigrateGetMaxDowntime', 'hypervisor', 'domainMigrateGetMaxDowntime', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MANAGED_SAVE_GET_XML_DESC': ('virDomainManagedSaveGetXMLDesc', 'hypervisor', 'domainManagedSaveGetXMLDesc', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_MANAGED_SAVE_DEFINE_XML': ('virDomainManagedSaveDefineXML', 'hypervisor', 'domainManagedSaveDefineXML', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SET_LIFECYCLE_ACTION': ('virDomainSetLifecycleAction', 'hypervisor', 'domainSetLifecycleAction', 'DOMAIN', True),
    'REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_TARGET_PATH': ('virStoragePoolLookupByTargetPath', 'storage', 'storagePoolLookupByTargetPath', 'STORAGE', False),
    'REMOTE_PROC_DOMAIN_DETACH_DEVICE_ALIAS': ('virDomainDetachDeviceAlias', 'hypervisor', 'domainDetachDeviceAlias', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_COMPARE_HYPERVISOR_CPU': ('virConnectCompareHypervisorCPU', 'hypervisor', 'connectCompareHypervisorCPU', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_BASELINE_HYPERVISOR_CPU': ('virConnectBaselineHypervisorCPU', 'hypervisor', 'connectBaselineHypervisorCPU', 'DOMAIN', True),
    'REMOTE_PROC_NODE_GET_SEV_INFO': ('virNodeGetSEVInfo', 'hypervisor', 'nodeGetSEVInfo', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_LAUNCH_SECURITY_INFO': ('virDomainGetLaunchSecurityInfo', 'hypervisor', 'domainGetLaunchSecurityInfo', 'DOMAIN', True),
    'REMOTE_PROC_NWFILTER_BINDING_LOOKUP_BY_PORT_DEV': ('virNWFilterBindingLookupByPortDev', 'nwfilter', 'nwfilterBindingLookupByPortDev', 'NWFILTER', False),
    'REMOTE_PROC_NWFILTER_BINDING_GET_XML_DESC': ('virNWFilterBindingGetXMLDesc', 'nwfilter', 'nwfilterBindingGetXMLDesc', 'NWFILTER', False),
    'REMOTE_PROC_NWFILTER_BINDING_CREATE_XML': ('virNWFilterBindingCreateXML', 'nwfilter', 'nwfilterBindingCreateXML', 'NWFILTER', True),
    'REMOTE_PROC_NWFILTER_BINDING_DELETE': ('virNWFilterBindingDelete', 'nwfilter', 'nwfilterBindingDelete', 'NWFILTER', True),
    'REMOTE_PROC_CONNECT_LIST_ALL_NWFILTER_BINDINGS': ('virConnectListAllNWFilterBindings', 'nwfilter', 'connectListAllNWFilterBindings', 'NWFILTER', False),
    'REMOTE_PROC_DOMAIN_SET_IOTHREAD_PARAMS': ('virDomainSetIOThreadParams', 'hypervisor', 'domainSetIOThreadParams', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_GET_STORAGE_POOL_CAPABILITIES': ('virConnectGetStoragePoolCapabilities', 'storage', 'connectGetStoragePoolCapabilities', 'STORAGE', False),
    'REMOTE_PROC_NETWORK_LIST_ALL_PORTS': ('virNetworkListAllPorts', 'network', 'networkListAllPorts', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_PORT_LOOKUP_BY_UUID': ('virNetworkPortLookupByUUID', 'network', 'networkPortLookupByUUID', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_PORT_CREATE_XML': ('virNetworkPortCreateXML', 'network', 'networkPortCreateXML', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_PORT_GET_PARAMETERS': ('virNetworkPortGetParameters', 'network', 'networkPortGetParameters', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_PORT_SET_PARAMETERS': ('virNetworkPortSetParameters', 'network', 'networkPortSetParameters', 'NETWORK', True),
    'REMOTE_PROC_NETWORK_PORT_GET_XML_DESC': ('virNetworkPortGetXMLDesc', 'network', 'networkPortGetXMLDesc', 'NETWORK', False),
    'REMOTE_PROC_NETWORK_PORT_DELETE': ('virNetworkPortDelete', 'network', 'networkPortDelete', 'NETWORK', True),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_CREATE_XML': ('virDomainCheckpointCreateXML', 'hypervisor', 'domainCheckpointCreateXML', 'DOMAIN_CHECKPOINT', True),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_GET_XML_DESC': ('virDomainCheckpointGetXMLDesc', 'hypervisor', 'domainCheckpointGetXMLDesc', 'DOMAIN_CHECKPOINT', False),
    'REMOTE_PROC_DOMAIN_LIST_ALL_CHECKPOINTS': ('virDomainListAllCheckpoints', 'hypervisor', 'domainListAllCheckpoints', 'DOMAIN_CHECKPOINT', False),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN': ('virDomainCheckpointListAllChildren', 'hypervisor', 'domainCheckpointListAllChildren', 'DOMAIN_CHECKPOINT', False),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_LOOKUP_BY_NAME': ('virDomainCheckpointLookupByName', 'hypervisor', 'domainCheckpointLookupByName', 'DOMAIN_CHECKPOINT', False),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_GET_PARENT': ('virDomainCheckpointGetParent', 'hypervisor', 'domainCheckpointGetParent', 'DOMAIN_CHECKPOINT', False),
    'REMOTE_PROC_DOMAIN_CHECKPOINT_DELETE': ('virDomainCheckpointDelete', 'hypervisor', 'domainCheckpointDelete', 'DOMAIN_CHECKPOINT', True),
    'REMOTE_PROC_DOMAIN_GET_GUEST_INFO': ('virDomainGetGuestInfo', 'hypervisor', 'domainGetGuestInfo', 'DOMAIN', True),
    'REMOTE_PROC_CONNECT_SET_IDENTITY': ('virConnectSetIdentity', 'hypervisor', 'connectSetIdentity', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_AGENT_SET_RESPONSE_TIMEOUT': ('virDomainAgentSetResponseTimeout', 'hypervisor', 'domainAgentSetResponseTimeout', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BACKUP_BEGIN': ('virDomainBackupBegin', 'hypervisor', 'domainBackupBegin', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_BACKUP_GET_XML_DESC': ('virDomainBackupGetXMLDesc', 'hypervisor', 'domainBackupGetXMLDesc', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_EVENT_MEMORY_FAILURE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_GET': ('virDomainAuthorizedSSHKeysGet', 'hypervisor', 'domainAuthorizedSSHKeysGet', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_SET': ('virDomainAuthorizedSSHKeysSet', 'hypervisor', 'domainAuthorizedSSHKeysSet', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_GET_MESSAGES': ('virDomainGetMessages', 'hypervisor', 'domainGetMessages', 'DOMAIN', False),
    'REMOTE_PROC_DOMAIN_START_DIRTY_RATE_CALC': ('virDomainStartDirtyRateCalc', 'hypervisor', 'domainStartDirtyRateCalc', 'DOMAIN', True),
    'REMOTE_PROC_NODE_DEVICE_DEFINE_XML': ('virNodeDeviceDefineXML', 'nodedev', 'nodeDeviceDefineXML', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_UNDEFINE': ('virNodeDeviceUndefine', 'nodedev', 'nodeDeviceUndefine', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_CREATE': ('virNodeDeviceCreate', 'nodedev', 'nodeDeviceCreate', 'NODEDEV', True),
    'REMOTE_PROC_NWFILTER_DEFINE_XML_FLAGS': ('virNWFilterDefineXMLFlags', 'nwfilter', 'nwfilterDefineXMLFlags', 'NWFILTER', True),
    'REMOTE_PROC_NETWORK_DEFINE_XML_FLAGS': ('virNetworkDefineXMLFlags', 'network', 'networkDefineXMLFlags', 'NETWORK', True),
    'REMOTE_PROC_NODE_DEVICE_GET_AUTOSTART': ('virNodeDeviceGetAutostart', 'nodedev', 'nodeDeviceGetAutostart', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_SET_AUTOSTART': ('virNodeDeviceSetAutostart', 'nodedev', 'nodeDeviceSetAutostart', 'NODEDEV', True),
    'REMOTE_PROC_NODE_DEVICE_IS_PERSISTENT': ('virNodeDeviceIsPersistent', 'nodedev', 'nodeDeviceIsPersistent', 'NODEDEV', False),
    'REMOTE_PROC_NODE_DEVICE_IS_ACTIVE': ('virNodeDeviceIsActive', 'nodedev', 'nodeDeviceIsActive', 'NODEDEV', False),
    'REMOTE_PROC_NETWORK_CREATE_XML_FLAGS': ('virNetworkCreateXMLFlags', 'network', 'networkCreateXMLFlags', 'NETWORK', True),
    'REMOTE_PROC_DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE': ('virDomainSetLaunchSecurityState', 'hypervisor', 'domainSetLaunchSecurityState', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_SAVE_PARAMS': ('virDomainSaveParams', 'hypervisor', 'domainSaveParams', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_RESTORE_PARAMS': ('virDomainRestoreParams', 'hypervisor', 'domainRestoreParams', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_ABORT_JOB_FLAGS': ('virDomainAbortJobFlags', 'hypervisor', 'domainAbortJobFlags', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_FD_ASSOCIATE': ('virDomainFDAssociate', 'hypervisor', 'domainFDAssociate', 'DOMAIN', True),
    'REMOTE_PROC_DOMAIN_EVENT_NIC_MAC_CHANGE': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_VCPU_REMOVED': (None, None, None, 'NONE', False),
    'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_CHANNEL_LIFECYCLE': (None, None, None, 'NONE', False),
    'QEMU_PROC_DOMAIN_MONITOR_COMMAND': ('virDomainQemuMonitorCommand', 'hypervisor', 'domainQemuMonitorCommand', 'NONE', True),
    'QEMU_PROC_DOMAIN_ATTACH': ('virDomainQemuAttach', 'hypervisor', 'domainQemuAttach', 'NONE', True),
    'QEMU_PROC_DOMAIN_AGENT_COMMAND': ('virDomainQemuAgentCommand', 'hypervisor', 'domainQemuAgentCommand', 'NONE', True),
    'QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER': ('virConnectDomainQemuMonitorEventRegister', 'hypervisor', 'connectDomainQemuMonitorEventRegister', 'NONE', True),
    'QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER': ('virConnectDomainQemuMonitorEventDeregister', 'hypervisor', 'connectDomainQemuMonitorEventDeregister', 'NONE', True),
    'QEMU_PROC_DOMAIN_MONITOR_EVENT': (None, None, None, 'NONE', False),
    'QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES': ('virDomainQemuMonitorCommandWithFiles', 'hypervisor', 'domainQemuMonitorCommandWithFiles', 'NONE', True),
    'LXC_PROC_DOMAIN_OPEN_NAMESPACE': ('virDomainLxcOpenNamespace', 'hypervisor', 'domainLxcOpenNamespace', 'NONE', True),
    'ADMIN_PROC_CONNECT_OPEN': ('virAdmConnectOpen', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_CLOSE': ('virAdmConnectClose', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_GET_LIB_VERSION': ('virAdmConnectGetLibVersion', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_LIST_SERVERS': ('virAdmConnectListServers', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_LOOKUP_SERVER': ('virAdmConnectLookupServer', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_GET_THREADPOOL_PARAMETERS': ('virAdmServerGetThreadPoolParameters', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_SET_THREADPOOL_PARAMETERS': ('virAdmServerSetThreadPoolParameters', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_LIST_CLIENTS': ('virAdmServerListClients', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_LOOKUP_CLIENT': ('virAdmServerLookupClient', None, None, 'ADMIN', False),
    'ADMIN_PROC_CLIENT_GET_INFO': ('virAdmClientGetInfo', None, None, 'ADMIN', False),
    'ADMIN_PROC_CLIENT_CLOSE': ('virAdmClientClose', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_GET_CLIENT_LIMITS': ('virAdmServerGetClientLimits', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_SET_CLIENT_LIMITS': ('virAdmServerSetClientLimits', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_GET_LOGGING_OUTPUTS': ('virAdmConnectGetLoggingOutputs', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_GET_LOGGING_FILTERS': ('virAdmConnectGetLoggingFilters', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_SET_LOGGING_OUTPUTS': ('virAdmConnectSetLoggingOutputs', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_SET_LOGGING_FILTERS': ('virAdmConnectSetLoggingFilters', None, None, 'ADMIN', False),
    'ADMIN_PROC_SERVER_UPDATE_TLS_FILES': ('virAdmServerUpdateTlsFiles', None, None, 'ADMIN', False),
    'ADMIN_PROC_CONNECT_SET_DAEMON_TIMEOUT': ('virAdmConnectSetDaemonTimeout', None, None, 'ADMIN', False),
}

#: procedure name -> the argument checks its API makes before calling the driver, in
#: libvirt's order: (kind, C parameter name, source on the wire); source is an args
#: field, "len:field" (its element count), "a:n" (an array and its size), "fds" (the
#: fds passed with the call) or "alloc:field" (an output buffer the daemon allocates
#: with that count: NULL for 0); ("readonly", "", "") is where the read-only check is.
#: Applied by server/argchecks.py.  Checks left out (conditional, or of parameters that
#: are not on the wire, e.g. output buffers the daemon allocates):
#:   REMOTE_PROC_CONNECT_GET_VERSION: virConnectGetVersion: nonnull(hvVer) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_INFO: virNodeGetInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_ATTACH_DEVICE: virDomainAttachDevice: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CREATE_XML: virDomainCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_DEFINE_XML: virDomainDefineXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_DETACH_DEVICE: virDomainDetachDevice: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_AUTOSTART: virDomainGetAutostart: nonnull(autostart) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_INFO: virDomainGetInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_VCPUS: virDomainGetVcpus: positive(maplen) conditional
#:   REMOTE_PROC_DOMAIN_GET_VCPUS: virDomainGetVcpus: zero(maplen) conditional
#:   REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS: virConnectListDefinedDomains: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME: virDomainLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID: virDomainLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_PIN_VCPU: virDomainPinVcpu: positive(maplen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_DEFINED_NETWORKS: virConnectListDefinedNetworks: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_DOMAINS: virConnectListDomains: nonnull_array(ids) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_NETWORKS: virConnectListNetworks: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_CREATE_XML: virNetworkCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_DEFINE_XML: virNetworkDefineXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_GET_AUTOSTART: virNetworkGetAutostart: nonnull(autostart) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_LOOKUP_BY_NAME: virNetworkLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_LOOKUP_BY_UUID: virNetworkLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CORE_DUMP: virDomainCoreDump: nonnull(to) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_RESTORE: virDomainRestore: nonnull(from) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SAVE: virDomainSave: nonnull(to) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS: virDomainGetSchedulerParameters: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS: virDomainGetSchedulerParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS: virDomainSetSchedulerParameters: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_STATS: virDomainBlockStats: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_STATS: virDomainBlockStats: nonnull(stats) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_INTERFACE_STATS: virDomainInterfaceStats: nonnull(device) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_INTERFACE_STATS: virDomainInterfaceStats: nonnull(stats) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_STORAGE_POOLS: virConnectListStoragePools: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_DEFINED_STORAGE_POOLS: virConnectListDefinedStoragePools: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_FIND_STORAGE_POOL_SOURCES: virConnectFindStoragePoolSources: nonnull(type) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_CREATE_XML: virStoragePoolCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_DEFINE_XML: virStoragePoolDefineXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_NAME: virStoragePoolLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_UUID: virStoragePoolLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_GET_INFO: virStoragePoolGetInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_GET_AUTOSTART: virStoragePoolGetAutostart: nonnull(autostart) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_LIST_VOLUMES: virStoragePoolListVolumes: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_CREATE_XML: virStorageVolCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_NAME: virStorageVolLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_KEY: virStorageVolLookupByKey: nonnull(key) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_PATH: virStorageVolLookupByPath: nonnull(path) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_GET_INFO: virStorageVolGetInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_CELLS_FREE_MEMORY: virNodeGetCellsFreeMemory: nonnull_array(freeMems) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_PEEK: virDomainBlockPeek: nonnull(buffer) conditional
#:   REMOTE_PROC_DOMAIN_MEMORY_PEEK: virDomainMemoryPeek: nonnull(buffer) conditional
#:   REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER: virConnectDomainEventRegister: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER: virConnectDomainEventDeregister: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_LIST_DEVICES: virNodeListDevices: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_LOOKUP_BY_NAME: virNodeDeviceLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_LIST_CAPS: virNodeDeviceListCaps: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL: virDomainGetSecurityLabel: nonnull(seclabel) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_SECURITY_MODEL: virNodeGetSecurityModel: nonnull(secmodel) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_CREATE_XML: virNodeDeviceCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_CREATE_XML_FROM: virStorageVolCreateXMLFrom: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_INTERFACES: virConnectListInterfaces: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_INTERFACE_LOOKUP_BY_NAME: virInterfaceLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_INTERFACE_LOOKUP_BY_MAC_STRING: virInterfaceLookupByMACString: nonnull(macstr) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_INTERFACE_DEFINE_XML: virInterfaceDefineXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_XML_FROM_NATIVE: virConnectDomainXMLFromNative: nonnull(nativeFormat) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_XML_FROM_NATIVE: virConnectDomainXMLFromNative: nonnull(nativeConfig) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_XML_TO_NATIVE: virConnectDomainXMLToNative: nonnull(nativeFormat) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_XML_TO_NATIVE: virConnectDomainXMLToNative: nonnull(domainXml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_DEFINED_INTERFACES: virConnectListDefinedInterfaces: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_SECRETS: virConnectListSecrets: nonnull_array(uuids) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_SECRET_LOOKUP_BY_UUID: virSecretLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_SECRET_DEFINE_XML: virSecretDefineXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_SECRET_GET_VALUE: virSecretGetValue: nonnull(value_size) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_SECRET_LOOKUP_BY_USAGE: virSecretLookupByUsage: nonnull(usageID) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_GET_LIB_VERSION: virConnectGetLibVersion: nonnull(libVer) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_COMPARE_CPU: virConnectCompareCPU: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS: virDomainAttachDeviceFlags: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_DETACH_DEVICE_FLAGS: virDomainDetachDeviceFlags: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_JOB_INFO: virDomainGetJobInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY: virConnectDomainEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY: virConnectDomainEventDeregisterAny: nonnegative(callbackID) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_UPDATE_DEVICE_FLAGS: virDomainUpdateDeviceFlags: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_LOOKUP_BY_NAME: virNWFilterLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_LOOKUP_BY_UUID: virNWFilterLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_LIST_NWFILTERS: virConnectListNWFilters: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_DEFINE_XML: virNWFilterDefineXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML: virDomainSnapshotCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES: virDomainSnapshotListNames: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES: virDomainSnapshotListNames: nonnegative(nameslen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: virDomainSnapshotLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_INFO: virDomainGetBlockInfo: nonempty(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_INFO: virDomainGetBlockInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_MEMORY_PARAMETERS: virDomainGetMemoryParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_MEMORY_PARAMETERS: virDomainGetMemoryParameters: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS: virDomainSetBlkioParameters: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLKIO_PARAMETERS: virDomainGetBlkioParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLKIO_PARAMETERS: virDomainGetBlkioParameters: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_STATE: virDomainGetState: nonnull(state) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS: virDomainSetSchedulerParametersFlags: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS: virDomainGetSchedulerParametersFlags: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS: virDomainGetSchedulerParametersFlags: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_PIN_VCPU_FLAGS: virDomainPinVcpuFlags: positive(maplen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_CPU_STATS: virNodeGetCPUStats: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_MEMORY_STATS: virNodeGetMemoryStats: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_CONTROL_INFO: virDomainGetControlInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_VCPU_PIN_INFO: virDomainGetVcpuPinInfo: nonnull_array(cpumaps) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SAVE_FLAGS: virDomainSaveFlags: nonnull(to) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_RESTORE_FLAGS: virDomainRestoreFlags: nonnull(from) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SAVE_IMAGE_GET_XML_DESC: virDomainSaveImageGetXMLDesc: nonnull(file) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SAVE_IMAGE_DEFINE_XML: virDomainSaveImageDefineXML: nonnull(file) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SAVE_IMAGE_DEFINE_XML: virDomainSaveImageDefineXML: nonnull(dxml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_JOB_ABORT: virDomainBlockJobAbort: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_JOB_INFO: virDomainGetBlockJobInfo: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_JOB_INFO: virDomainGetBlockJobInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_JOB_SET_SPEED: virDomainBlockJobSetSpeed: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_PULL: virDomainBlockPull: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_SPEED: virDomainMigrateGetMaxSpeed: nonnull(bandwidth) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS: virDomainBlockStatsFlags: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS: virDomainBlockStatsFlags: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS: virDomainBlockStatsFlags: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES: virDomainSnapshotListChildrenNames: nonnull_array(names) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES: virDomainSnapshotListChildrenNames: nonnegative(nameslen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_OPEN_GRAPHICS: virDomainOpenGraphics: nonnegative(fd) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_RESIZE: virDomainBlockResize: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE: virDomainSetBlockIoTune: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE: virDomainGetBlockIoTune: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE: virDomainGetBlockIoTune: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE: virDomainGetBlockIoTune: nonnull(disk) conditional
#:   REMOTE_PROC_DOMAIN_GET_NUMA_PARAMETERS: virDomainGetNumaParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_NUMA_PARAMETERS: virDomainGetNumaParameters: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_INTERFACE_PARAMETERS: virDomainGetInterfaceParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_INTERFACE_PARAMETERS: virDomainGetInterfaceParameters: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_CPU_STATS: virDomainGetCPUStats: nonnegative(start_cpu) conditional
#:   REMOTE_PROC_DOMAIN_GET_CPU_STATS: virDomainGetCPUStats: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_CPU_STATS: virDomainGetCPUStats: null(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_CPU_STATS: virDomainGetCPUStats: null(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_DISK_ERRORS: virDomainGetDiskErrors: nonnull_array(errors) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_METADATA: virDomainSetMetadata: null(uri) conditional
#:   REMOTE_PROC_DOMAIN_SET_METADATA: virDomainSetMetadata: null(key) conditional
#:   REMOTE_PROC_DOMAIN_SET_METADATA: virDomainSetMetadata: nonnull(uri) conditional
#:   REMOTE_PROC_DOMAIN_SET_METADATA: virDomainSetMetadata: nonnull(key) conditional
#:   REMOTE_PROC_DOMAIN_GET_METADATA: virDomainGetMetadata: null(uri) conditional
#:   REMOTE_PROC_DOMAIN_GET_METADATA: virDomainGetMetadata: nonnull(uri) conditional
#:   REMOTE_PROC_DOMAIN_BLOCK_REBASE: virDomainBlockRebase: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_REBASE: virDomainBlockRebase: nonnull(base) conditional
#:   REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL_LIST: virDomainGetSecurityLabelList: nonnull(seclabels) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_PIN_EMULATOR: virDomainPinEmulator: positive(maplen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_SET_MEMORY_PARAMETERS: virNodeSetMemoryParameters: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_MEMORY_PARAMETERS: virNodeGetMemoryParameters: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_MEMORY_PARAMETERS: virNodeGetMemoryParameters: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_BLOCK_COMMIT: virDomainBlockCommit: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_UPDATE: virNetworkUpdate: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN: virNodeDeviceLookupSCSIHostByWWN: nonnull(wwnn) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN: virNodeDeviceLookupSCSIHostByWWN: nonnull(wwpn) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_JOB_STATS: virDomainGetJobStats: nonnull(type) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_JOB_STATS: virDomainGetJobStats: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_JOB_STATS: virDomainGetJobStats: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_MIGRATE_GET_COMPRESSION_CACHE: virDomainMigrateGetCompressionCache: nonnull(cacheSize) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES: virDomainCreateXMLWithFiles: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_GET_CPU_MODEL_NAMES: virConnectGetCPUModelNames: nonnull(arch) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY: virConnectNetworkEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: virConnectDomainEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CORE_DUMP_WITH_FORMAT: virDomainCoreDumpWithFormat: nonnull(to) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_FSFREEZE: virDomainFSFreeze: nonnull_array(mountpoints) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_FSTHAW: virDomainFSThaw: nonnull_array(mountpoints) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_FREE_PAGES: virNodeGetFreePages: nonnull(counts) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS: virConnectGetAllDomainStats: nonnull(retStats) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_COPY: virDomainBlockCopy: nonnull(disk) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_COPY: virDomainBlockCopy: nonnull(destxml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_COPY: virDomainBlockCopy: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BLOCK_COPY: virDomainBlockCopy: nonnull(params) conditional
#:   REMOTE_PROC_DOMAIN_GET_FSINFO: virDomainGetFSInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS: virDomainDefineXMLFlags: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_IOTHREAD_INFO: virDomainGetIOThreadInfo: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_PIN_IOTHREAD: virDomainPinIOThread: positive(maplen) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES: virDomainInterfaceAddresses: nonnull(ifaces) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK: virConnectRegisterCloseCallback: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK: virConnectUnregisterCloseCallback: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_PERF_EVENTS: virDomainGetPerfEvents: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_PERF_EVENTS: virDomainGetPerfEvents: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY: virConnectStoragePoolEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_GUEST_VCPUS: virDomainGetGuestVcpus: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_GUEST_VCPUS: virDomainGetGuestVcpus: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_GUEST_VCPUS: virDomainSetGuestVcpus: nonnull(cpumap) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY: virConnectNodeDeviceEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_VOL_GET_INFO_FLAGS: virStorageVolGetInfoFlags: nonnull(info) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY: virConnectSecretEventRegisterAny: nonnull(cb) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_VCPU: virDomainSetVcpu: nonnull(vcpumap) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_SET_BLOCK_THRESHOLD: virDomainSetBlockThreshold: nonnull(dev) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_DOWNTIME: virDomainMigrateGetMaxDowntime: nonnull(downtime) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_TARGET_PATH: virStoragePoolLookupByTargetPath: nonnull(path) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_DETACH_DEVICE_ALIAS: virDomainDetachDeviceAlias: nonnull(alias) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_CONNECT_COMPARE_HYPERVISOR_CPU: virConnectCompareHypervisorCPU: nonnull(xmlCPU) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_GET_SEV_INFO: virNodeGetSEVInfo: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_LAUNCH_SECURITY_INFO: virDomainGetLaunchSecurityInfo: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_LAUNCH_SECURITY_INFO: virDomainGetLaunchSecurityInfo: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_BINDING_LOOKUP_BY_PORT_DEV: virNWFilterBindingLookupByPortDev: nonnull(portdev) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_BINDING_CREATE_XML: virNWFilterBindingCreateXML: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_PORT_LOOKUP_BY_UUID: virNetworkPortLookupByUUID: nonnull(uuid) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_PORT_CREATE_XML: virNetworkPortCreateXML: nonnull(xmldesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CHECKPOINT_CREATE_XML: virDomainCheckpointCreateXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_CHECKPOINT_LOOKUP_BY_NAME: virDomainCheckpointLookupByName: nonnull(name) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_GUEST_INFO: virDomainGetGuestInfo: nonnull(params) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_GET_GUEST_INFO: virDomainGetGuestInfo: nonnull(nparams) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_BACKUP_BEGIN: virDomainBackupBegin: nonnull(backupXML) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_GET: virDomainAuthorizedSSHKeysGet: nonnull(user) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_GET: virDomainAuthorizedSSHKeysGet: nonnull(keys) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_SET: virDomainAuthorizedSSHKeysSet: nonnull(user) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_AUTHORIZED_SSH_KEYS_SET: virDomainAuthorizedSSHKeysSet: nonnull(keys) conditional
#:   REMOTE_PROC_DOMAIN_GET_MESSAGES: virDomainGetMessages: nonnull(msgs) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NODE_DEVICE_DEFINE_XML: virNodeDeviceDefineXML: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NWFILTER_DEFINE_XML_FLAGS: virNWFilterDefineXMLFlags: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_DEFINE_XML_FLAGS: virNetworkDefineXMLFlags: nonnull(xml) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_NETWORK_CREATE_XML_FLAGS: virNetworkCreateXMLFlags: nonnull(xmlDesc) cannot fire on the wire or is unmapped
#:   REMOTE_PROC_DOMAIN_FD_ASSOCIATE: virDomainFDAssociate: nonnull(fds) cannot fire on the wire or is unmapped
#:   QEMU_PROC_DOMAIN_MONITOR_COMMAND: virDomainQemuMonitorCommand: nonnull(result) cannot fire on the wire or is unmapped
#:   QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER: virConnectDomainQemuMonitorEventRegister: nonnull(cb) cannot fire on the wire or is unmapped
#:   QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES: virDomainQemuMonitorCommandWithFiles: nonnull(cmd) cannot fire on the wire or is unmapped
#:   QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES: virDomainQemuMonitorCommandWithFiles: nonnull(result) cannot fire on the wire or is unmapped
#:   LXC_PROC_DOMAIN_OPEN_NAMESPACE: virDomainLxcOpenNamespace: nonnull(fdlist) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_CONNECT_GET_LIB_VERSION: virAdmConnectGetLibVersion: nonnull(libVer) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_CONNECT_LOOKUP_SERVER: virAdmConnectLookupServer: nonnull(name) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_SERVER_GET_THREADPOOL_PARAMETERS: virAdmServerGetThreadPoolParameters: nonnull(params) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_SERVER_SET_THREADPOOL_PARAMETERS: virAdmServerSetThreadPoolParameters: nonnegative(nparams) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_CLIENT_GET_INFO: virAdmClientGetInfo: nonnull(params) cannot fire on the wire or is unmapped
#:   ADMIN_PROC_SERVER_SET_CLIENT_LIMITS: virAdmServerSetClientLimits: nonnegative(nparams) cannot fire on the wire or is unmapped
ARG_CHECKS: dict[str, tuple[tuple[str, str, str], ...]] = {
    'REMOTE_PROC_DOMAIN_GET_VCPUS': (('nonnull_alloc', 'info', 'alloc:maxinfo'), ('positive', 'maxinfo', 'maxinfo')),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_DOMAIN_LOOKUP_BY_ID': (('nonnegative', 'id', 'id'),),
    'REMOTE_PROC_DOMAIN_PIN_VCPU': (('readonly', '', ''), ('nonnull_array', 'cpumap', 'cpumap')),
    'REMOTE_PROC_DOMAIN_SET_MAX_MEMORY': (('readonly', '', ''), ('nonzero', 'memory', 'memory')),
    'REMOTE_PROC_DOMAIN_SET_MEMORY': (('readonly', '', ''), ('nonzero', 'memory', 'memory')),
    'REMOTE_PROC_DOMAIN_SET_VCPUS': (('readonly', '', ''), ('nonzero', 'nvcpus', 'nvcpus')),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_NETWORKS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_CONNECT_LIST_DOMAINS': (('nonnegative', 'maxids', 'maxids'),),
    'REMOTE_PROC_CONNECT_LIST_NETWORKS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params')),
    'REMOTE_PROC_CONNECT_LIST_STORAGE_POOLS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_STORAGE_POOLS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_STORAGE_POOL_LIST_VOLUMES': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_NODE_GET_CELLS_FREE_MEMORY': (('positive', 'maxCells', 'maxcells'), ('nonnegative', 'startCell', 'startCell')),
    'REMOTE_PROC_DOMAIN_BLOCK_PEEK': (('readonly', '', ''), ('nonempty_nonnull', 'disk', 'path')),
    'REMOTE_PROC_NODE_LIST_DEVICES': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_NODE_DEVICE_LIST_CAPS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_CONNECT_LIST_INTERFACES': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_CONNECT_LIST_DEFINED_INTERFACES': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_CONNECT_LIST_SECRETS': (('nonnegative', 'maxuuids', 'maxuuids'),),
    'REMOTE_PROC_SECRET_SET_VALUE': (('readonly', '', ''), ('nonnull_array', 'value', 'value')),
    'REMOTE_PROC_CONNECT_BASELINE_CPU': (('nonnull_array', 'xmlCPUs', 'xmlCPUs'),),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_LIST_NWFILTERS': (('nonnegative', 'maxnames', 'maxnames'),),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params')),
    'REMOTE_PROC_DOMAIN_SET_VCPUS_FLAGS': (('readonly', '', ''), ('nonzero', 'nvcpus', 'nvcpus')),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS': (('readonly', '', ''), ('nonzero', 'memory', 'memory')),
    'REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params')),
    'REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS': (('readonly', '', ''), ('nonnull_array', 'params', 'params')),
    'REMOTE_PROC_DOMAIN_PIN_VCPU_FLAGS': (('readonly', '', ''), ('nonnull_array', 'cpumap', 'cpumap')),
    'REMOTE_PROC_DOMAIN_SEND_KEY': (('readonly', '', ''), ('nonnull_array', 'keycodes', 'keycodes'), ('positive', 'nkeycodes', 'len:keycodes')),
    'REMOTE_PROC_DOMAIN_GET_VCPU_PIN_INFO': (('positive', 'ncpumaps', 'ncpumaps'), ('positive', 'maplen', 'maplen')),
    'REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE': (('readonly', '', ''), ('positive', 'nparams', 'len:params'), ('nonnull_array', 'params', 'params')),
    'REMOTE_PROC_DOMAIN_SET_NUMA_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params')),
    'REMOTE_PROC_DOMAIN_SET_INTERFACE_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params')),
    'REMOTE_PROC_STORAGE_VOL_RESIZE': (('readonly', '', ''), ('resize_capacity', 'capacity', 'capacity')),
    'REMOTE_PROC_DOMAIN_PIN_EMULATOR': (('readonly', '', ''), ('nonnull_array', 'cpumap', 'cpumap')),
    'REMOTE_PROC_DOMAIN_GET_EMULATOR_PIN_INFO': (('nonnull_alloc', 'cpumap', 'alloc:maplen'), ('positive', 'maplen', 'maplen')),
    'REMOTE_PROC_NODE_SET_MEMORY_PARAMETERS': (('readonly', '', ''), ('nonnull_array', 'params', 'params')),
    'REMOTE_PROC_DOMAIN_SEND_PROCESS_SIGNAL': (('nonzero', 'pid_value', 'pid_value'), ('readonly', '', '')),
    'REMOTE_PROC_DOMAIN_SET_MEMORY_STATS_PERIOD': (('readonly', '', ''), ('nonnegative', 'period', 'period')),
    'REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY': (('nonnegative', 'callbackID', 'callbackID'),),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY': (('nonnegative', 'callbackID', 'callbackID'),),
    'REMOTE_PROC_NODE_GET_FREE_PAGES': (('nonzero', 'npages', 'len:pages'), ('nonnull_array', 'pages', 'pages'), ('nonzero', 'cellCount', 'cellCount')),
    'REMOTE_PROC_NODE_ALLOC_PAGES': (('readonly', '', ''), ('nonzero', 'npages', 'len:pageSizes'), ('nonnull_array', 'pageSizes', 'pageSizes'), ('nonnull_array', 'pageCounts', 'pageCounts'), ('nonzero', 'cellCount', 'cellCount')),
    'REMOTE_PROC_DOMAIN_PIN_IOTHREAD': (('readonly', '', ''), ('nonnull_array', 'cpumap', 'cpumap')),
    'REMOTE_PROC_DOMAIN_DEL_IOTHREAD': (('readonly', '', ''), ('nonzero', 'iothread_id', 'iothread_id')),
    'REMOTE_PROC_DOMAIN_SET_USER_PASSWORD': (('readonly', '', ''), ('nonnull', 'user', 'user'), ('nonnull', 'password', 'password')),
    'REMOTE_PROC_DOMAIN_RENAME': (('nonempty', 'new_name', 'new_name'), ('readonly', '', '')),
    'REMOTE_PROC_DOMAIN_SET_PERF_EVENTS': (('readonly', '', ''), ('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params')),
    'REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY': (('nonnegative', 'callbackID', 'callbackID'),),
    'REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY': (('nonnegative', 'callbackID', 'callbackID'),),
    'REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY': (('nonnegative', 'eventID', 'eventID'),),
    'REMOTE_PROC_CONNECT_SECRET_EVENT_DEREGISTER_ANY': (('nonnegative', 'callbackID', 'callbackID'),),
    'REMOTE_PROC_CONNECT_BASELINE_HYPERVISOR_CPU': (('nonnull_array', 'xmlCPUs', 'xmlCPUs'), ('readonly', '', '')),
    'REMOTE_PROC_DOMAIN_SET_IOTHREAD_PARAMS': (('readonly', '', ''), ('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params')),
    'REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE': (('nonnull_array', 'params', 'params'), ('positive', 'nparams', 'len:params'), ('readonly', '', '')),
    'REMOTE_PROC_DOMAIN_FD_ASSOCIATE': (('nonzero', 'nfds', 'fds'), ('readonly', '', '')),
    'QEMU_PROC_DOMAIN_ATTACH': (('nonzero', 'pid_value', 'pid_value'), ('readonly', '', '')),
    'QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER': (('nonnegative', 'callbackID', 'callbackID'), ('readonly', '', '')),
    'ADMIN_PROC_SERVER_SET_THREADPOOL_PARAMETERS': (('nonnull_array', 'params', 'params'),),
    'ADMIN_PROC_SERVER_SET_CLIENT_LIMITS': (('nonnull_array', 'params', 'params'),),
}
