"""`python -m tuidl.ui [FILE.toml]`: open the app."""
from tuidl.ui.app import main

main()
