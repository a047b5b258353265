from repertory.cli import main

main()
