"""The book's tooling: Colab set-up, run-time notes, the papermill runner, the book build, student versions,
timings and publishing. Nothing else in the library imports it."""
