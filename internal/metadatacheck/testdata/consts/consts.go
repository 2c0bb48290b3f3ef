package consts

const (
	outcomeSent             = "sent"
	outcomes                = "not an outcome: no capital after the prefix"
	outcome                 = "not an outcome: nothing after the prefix"
	outcomeFailed, outcome2 = "failed", "not an outcome: a digit after the prefix"
	outcomeCount            = 3
)

const resultOK = "ok"

var outcomeVariable = "not a constant"

func count() int { return outcomeCount }

type sender struct{}

func (sender) send() {}
