"""The identity graph: which identifiers (customer id, anonymous device id, hashed email
and phone, loyalty card, payment token) belong to one customer, how clusters merge, the
guard rails against bad merges, and the record of every merge with its reason."""
