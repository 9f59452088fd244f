package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
)

func sampleTransfer(id string, now time.Time) (*store.Transfer, []store.TransferFile) {
	t := &store.Transfer{ID: id, Direction: "in", Sender: "alice", Recipients: []string{"bob", "carol"},
		Purpose: "見積書の受領", Status: "pending", ApprovalReason: "always",
		CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
	files := []store.TransferFile{
		{TransferID: id, Seq: 1, Name: "見積.docm", Size: 100, SHA256: "aa", Type: "docm", Verdict: "SANITIZED",
			Actions: `[{"kind":"removed","object":"word/vbaProject.bin","count":1}]`, Quarantine: "q1", OutName: "見積.docx", OutSize: 80, OutSHA256: "bb"},
		{TransferID: id, Seq: 2, Name: "x.exe", Size: 10, SHA256: "cc", Type: "unknown", Verdict: "BLOCKED", Reason: "policy", Actions: "[]", Quarantine: "q2"},
	}
	return t, files
}

func testTransfers(t *testing.T, s store.Store, _ Opener) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	tr, files := sampleTransfer("t1", now)
	must(t, s.CreateTransfer(ctx, tr, files))
	got, err := s.Transfer(ctx, "t1")
	must(t, err)
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("transfer round trip:\n got %+v\nwant %+v", got, tr)
	}
	gotFiles, err := s.TransferFiles(ctx, "t1")
	must(t, err)
	if !reflect.DeepEqual(gotFiles, files) {
		t.Fatalf("files round trip:\n got %+v\nwant %+v", gotFiles, files)
	}
	if _, err := s.Transfer(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing transfer: %v", err)
	}
	// A failing file insert (duplicate seq) leaves no transfer behind.
	bad, badFiles := sampleTransfer("t2", now.Add(time.Minute))
	badFiles[1].Seq = 1
	if err := s.CreateTransfer(ctx, bad, badFiles); err == nil {
		t.Fatal("duplicate file seq accepted")
	}
	if _, err := s.Transfer(ctx, "t2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("half-stored transfer: %v", err)
	}
	tr3, f3 := sampleTransfer("t3", now.Add(time.Hour))
	must(t, s.CreateTransfer(ctx, tr3, f3))
	list, err := s.ListTransfers(ctx, 10)
	must(t, err)
	if len(list) != 2 || list[0].ID != "t3" || list[1].ID != "t1" {
		t.Fatalf("list order: %+v", list)
	}
	// The auditors' history filters by time, sender and status.
	tr4, f4 := sampleTransfer("t4", now.Add(2*time.Hour))
	tr4.Sender, tr4.Status = "dave", "available"
	must(t, s.CreateTransfer(ctx, tr4, f4))
	for _, c := range []struct {
		f    store.TransferFilter
		want []string
	}{
		{store.TransferFilter{}, []string{"t4", "t3", "t1"}},
		{store.TransferFilter{Limit: 1}, []string{"t4"}},
		{store.TransferFilter{Since: now.Add(time.Hour)}, []string{"t4", "t3"}},
		{store.TransferFilter{Until: now.Add(time.Hour)}, []string{"t1"}},
		{store.TransferFilter{Since: now.Add(time.Minute), Until: now.Add(2 * time.Hour)}, []string{"t3"}},
		{store.TransferFilter{Sender: "alice"}, []string{"t3", "t1"}},
		{store.TransferFilter{Status: "available"}, []string{"t4"}},
		{store.TransferFilter{Sender: "alice", Status: "available"}, nil},
	} {
		got, err := s.TransferHistory(ctx, c.f)
		must(t, err)
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		if !reflect.DeepEqual(ids, c.want) {
			t.Errorf("history %+v: %v, want %v", c.f, ids, c.want)
		}
	}
	// Two approvers at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := *tr
			d.Status, d.Approver, d.Decision, d.DecidedAt = "approved", "boss", "ok", now.Add(time.Minute)
			errs[i] = s.DecideTransfer(ctx, &d, "pending")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrStale):
			t.Fatalf("decide: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d approvers won, want 1", wins)
	}
	got, _ = s.Transfer(ctx, "t1")
	if got.Status != "approved" || got.Approver != "boss" || !got.DecidedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("decided: %+v", got)
	}
	if err := s.DecideTransfer(ctx, &store.Transfer{ID: "nope", Status: "approved"}, "pending"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("decide missing: %v", err)
	}
	ids, err := s.ExpireTransfers(ctx, now.Add(72*time.Hour+time.Second))
	must(t, err)
	if !reflect.DeepEqual(ids, []string{"t1"}) {
		t.Fatalf("expired %v, want [t1]", ids)
	}
	if ids, _ := s.ExpireTransfers(ctx, now.Add(72*time.Hour+time.Second)); len(ids) != 0 {
		t.Fatalf("expired twice: %v", ids)
	}
}

func testDownloadLinks(t *testing.T, s store.Store, _ Opener) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	tr, files := sampleTransfer("t1", now)
	must(t, s.CreateTransfer(ctx, tr, files))
	l := &store.DownloadLink{Token: "tok", TransferID: "t1", Seq: 1, User: "bob", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateDownloadLink(ctx, l))
	must(t, s.CreateDownloadLink(ctx, &store.DownloadLink{Token: "old", TransferID: "t1", Seq: 1, User: "bob", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	if _, err := s.RedeemDownloadLink(ctx, "old", now.Add(2*time.Minute)); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("expired link: %v", err)
	}
	if _, err := s.RedeemDownloadLink(ctx, "missing", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing link: %v", err)
	}
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.RedeemDownloadLink(ctx, "tok", now.Add(time.Second))
			if err == nil && (got.TransferID != "t1" || got.Seq != 1 || got.User != "bob") {
				t.Errorf("redeemed %+v", got)
			}
			results[i] = err
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrUsed):
			t.Fatalf("redeem: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("link used %d times, want 1", ok)
	}
}
