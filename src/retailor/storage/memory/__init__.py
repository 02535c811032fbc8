"""In-memory adapters: for tests and for throwaway runs (``memory://``). Nothing survives the process."""
