"""Sphinx extension: drop repeated <script> entries from each page.

With jupyter-book 1.0.x, sphinx-thebe's inline configuration script can be added twice, and the page then
fails with "Identifier 'THEBE_JS_URL' has already been declared". Keeping the first copy of every script
fixes it without touching the installed packages.

The list is filtered in place: `context["script_files"]` is the builder's own list, to which handlers that
run later on the same event (Sphinx's MathJax among them) still add their scripts. Replacing it with a new
list once dropped MathJax from every page, so formulas showed as raw LaTeX.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", None) or "", str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
