// Package replicas proves soebot on PostgreSQL with several replicas: real
// bot processes (this test binary re-executed as the bot) on one throwaway
// PostgreSQL, against the in-process fake Slack (several Socket Mode
// connections, each envelope to one at random) and fake SOE. Tests only.
package replicas
