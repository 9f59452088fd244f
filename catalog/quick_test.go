package catalog
import "testing"
func TestQuick(t *testing.T){ c,err:=Default(); if err!=nil{t.Fatal(err)}; t.Log(len(c.Entries())) }
