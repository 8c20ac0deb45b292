from rabbitadmin.cli import main

main()
