/**
 * `lms-rx/heci`: the ME's other clients, as pure codecs: the MEI driver's connect ioctl
 * (`IOCTL_MEI_CONNECT_CLIENT`), AMTHI (AMT's host interface: versions, provisioning, UUID, LAN
 * settings) and MKHI (the firmware version).
 */
export * from './codecs/mei.js';
export * from './codecs/amthi.js';
export * from './codecs/mkhi.js';
