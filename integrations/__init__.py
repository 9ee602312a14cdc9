"""Outside systems and file formats: 1C stock, Excel import and export, SMTP.

No aiogram and no database here: callers pass bytes and get plain data back.
"""
