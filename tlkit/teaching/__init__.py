"""Teaching tools, apart from the research core: coursework generated from the notebooks.

- :mod:`tlkit.teaching.assignments`: student and autograder notebooks made with Otter-Grader;
- :mod:`tlkit.teaching.grading_run`: the notebook executed as its assignment will be graded;
- :mod:`tlkit.teaching.package`: the grading package, made to install and grade on its own;
- :mod:`tlkit.teaching.settings`: the settings a submission is graded with, enforced;
- :mod:`tlkit.teaching.reference`: hidden tests' expected values, from the run cache;
- :mod:`tlkit.teaching.grading`: ``tlkit grade``, a class graded into one gradebook;
- :mod:`tlkit.teaching.gradebook`: the gradebook, the hand-graded scores and their totals;
- :mod:`tlkit.teaching.guard`: the library's own solutions and tampering, caught and flagged;
- :mod:`tlkit.teaching.readme`: the README written beside the assignments;
- :mod:`tlkit.teaching.values`: a run's glued numbers written into the prose;
- :mod:`tlkit.teaching.myst`: MyST Markdown converted for plain Jupyter.
"""
