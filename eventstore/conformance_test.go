package eventstore_test

import (
	"testing"

	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/eventstoretest"
)

func TestConformance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store {
		s, err := eventstore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
