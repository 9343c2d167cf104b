"""The rules behind the staff web desk (``web/``): who may sign in, what each person may see and do.

The pages in ``web/`` call these functions and the shared services (cases, reports, broadcasts); they never
write rows themselves.
"""
