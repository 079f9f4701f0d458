package subscriptions

import (
	"testing"

	"github.com/soebot/soebot/internal/golden"
)

func TestThreadsMessagesGolden(t *testing.T) {
	golden.Message(t, "config_threads_on", threadsShowMessage(true, "/soe"))
	golden.Message(t, "config_threads_off", threadsShowMessage(false, "/soe"))
	golden.Message(t, "config_threads_set_on", threadsSetMessage("UALICE", true, "/soe"))
	golden.Message(t, "config_threads_set_off", threadsSetMessage("UALICE", false, "/soe"))
}
