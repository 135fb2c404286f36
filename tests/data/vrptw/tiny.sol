Route #1: 1 3
Route #2: 5 2
Route #3: 4
Cost 44.2
