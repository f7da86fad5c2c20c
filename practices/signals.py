"""What the practices app tells apps above it, without importing them.

Both are sent inside the transaction that changes the slots, with ``slot_ids``; the booking
app's waiting list listens:

- ``slots_released``: slots made bookable (cut from a session, or released from a block), to
  be offered to waiting patients;
- ``slots_withdrawn``: slots that were held for waiting-list offers and are now blocked; the
  offers end, and the patients are told the slot has gone.
"""

from django.dispatch import Signal

slots_released = Signal()
slots_withdrawn = Signal()
