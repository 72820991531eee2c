# make man: regenerate the ADDRESS TYPES and ADDRESS OPTIONS sections of
# man/pysocat.1 from the tables (the rest of the page is hand-written).
# make man-check: fail when they are stale; make man-view: read it.
.PHONY: man man-check man-view
man:
	$(PY) -m pysocat.manpage man/pysocat.1

man-check:
	$(PY) -m pysocat.manpage --check man/pysocat.1
	groff -ww -man -Tutf8 man/pysocat.1 >/dev/null

man-view:
	man -l man/pysocat.1
