"""A recorded assessment in other forms: a CSV table and a printable HTML report.

Both are built from the assessment's recorded JSON (exactly what was returned), never by evaluating
again, so an export always says what the decision log says.
"""
