package router_test

import (
	"testing"

	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/router"
)

func TestExternalMessageGolden(t *testing.T) {
	golden.Message(t, "external_person", router.ExternalMessage())
}
