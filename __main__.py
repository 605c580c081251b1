from pathway.cli import main

raise SystemExit(main())
