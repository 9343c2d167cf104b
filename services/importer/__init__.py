"""Import of wilayah (kabupaten/kecamatan), the recipient roster and the field workers from CSV or XLSX.

``reading`` turns a file into rows of text, ``normalize`` turns what people type into clean values (or a
reason in Indonesian why not), ``wilayah``/``roster``/``workers`` validate and write in one transaction,
``report`` writes the rejected rows for the clerk. The CLI (``uep import ...``) is :mod:`bot.cli.importing`.
"""
