"""GP practices, clinicians, sessions and slots (see the practices issue)."""
