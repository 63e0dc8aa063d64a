"""Rankings room: the composite index (大擂台大比武) over prefectures, counties and villages, the judges' scores of
village plans, and their exports."""
