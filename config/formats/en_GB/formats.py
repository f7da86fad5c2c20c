"""One date and time format across the staff pages, the UK one: "Mon 30 Nov 2026, 14:30",
dates of birth "9 Jan 1989". Input formats stay Django's en-GB ones (ISO first)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "D j M Y, H:i"
SHORT_DATETIME_FORMAT = "D j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
