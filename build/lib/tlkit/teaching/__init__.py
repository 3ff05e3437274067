"""Teaching tools, apart from the research core: coursework generated from the notebooks.

- :mod:`tlkit.teaching.assignments`: student and autograder notebooks made with Otter-Grader;
- :mod:`tlkit.teaching.myst`: MyST Markdown converted for plain Jupyter.
"""
