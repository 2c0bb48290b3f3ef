package consts

const outcomeInTest = "not in the package's code"
