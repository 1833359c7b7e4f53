// The console's browser tests run against the same demo server as the phone page's.
export { default } from "../../../report/tests/e2e/server";
