/**
 * No test reaches the machine's own system bus (logind above all): every process a test starts,
 * and lms inside the test process, is pointed at a bus that does not exist, unless a test puts its
 * private bus with the logind double there (logindDouble.ts). Imported for its effect by every
 * helper that starts lms.
 */
export const NO_SYSTEM_BUS = 'unix:path=/nonexistent/lms-tests-have-no-system-bus';
process.env['DBUS_SYSTEM_BUS_ADDRESS'] = NO_SYSTEM_BUS;
