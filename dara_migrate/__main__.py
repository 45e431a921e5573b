from dara_migrate.cli import main

main()
