// The NHS template's first line, from a file (the Content-Security-Policy allows no inline
// script): before the page is painted, say that JavaScript runs and whether the components'
// modules can, so the CSS never flashes the no-JavaScript layout.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
