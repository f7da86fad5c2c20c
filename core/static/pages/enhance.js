// The NHS.UK frontend's components, started from a file (the Content-Security-Policy allows
// no inline script): the error summary takes focus, buttons ignore a double press, the header
// menu folds on narrow screens. Every page works without it.
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

initAll();
