"""`python -m tuidl.ui [FILE.toml]`: open the app."""
from tuidl.ui.app import main

if __name__ == "__main__":  # not when a spawned worker process imports __main__
    main()
