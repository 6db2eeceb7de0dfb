"""The district register: shops and their responsible parties, signboards, citizen reports, inspections, credit
and red/black lists. It sits beside dispatch (whose cases and ledger it reads and feeds) and below api."""
