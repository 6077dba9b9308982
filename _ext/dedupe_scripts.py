"""Sphinx extension: drop repeated <script> entries from each page.

With jupyter-book 1.0.x, sphinx-thebe's inline configuration script can be added twice, and the page then
fails with "Identifier 'THEBE_JS_URL' has already been declared". Keeping the first copy of every script
fixes it without touching the installed packages.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", None) or "", str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
