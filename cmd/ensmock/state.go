package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ensmock/ensmock/mock"
)

// stateFlags adds serve's persistence and seeding flags.
func stateFlags(fs *flag.FlagSet, f *serveFlags) {
	fs.StringVar(&f.dataDir, "data-dir", "", "keep the state (apps, data files, replicas, fault rules, clock) in this directory and load it at start; empty: memory only")
	fs.StringVar(&f.stateFile, "state", "", "YAML/JSON file of accounts, apps and data files to start with (the shape of GET /_ensmock/state); with --data-dir, only into a new one")
}

// stateOptions turns --data-dir and --state into options.
func (f *serveFlags) stateOptions(opts *mock.Options) error {
	opts.DataDir = f.dataDir
	if f.dataDir != "" {
		log := opts.Logger
		opts.OnStoreFailure = func(err error) {
			// The memory state is now ahead of the disk: stop rather than
			// acknowledge what a restart would not find.
			log.Error("the data dir can no longer be written; exiting", "err", err)
			fmt.Fprintln(os.Stderr, "ensmock:", err)
			os.Exit(1)
		}
	}
	if f.stateFile == "" {
		return nil
	}
	data, err := os.ReadFile(f.stateFile)
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	st, err := mock.ParseState(data)
	if err != nil {
		return fmt.Errorf("--state %s: %w", f.stateFile, err)
	}
	opts.State = &st
	return nil
}
