from rabbitadmin.launcher import main

main()
