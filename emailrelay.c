/*
 * emailrelay: main().  The same binary is the parent and, re-executed
 * with "--x-child=<proc>" as its first argument, each of the six children
 * (STYLE.md section 1).  Not OpenSMTPD's "-X <proc>": SPEC gives -X to
 * --no-smtp, and a user's "emailrelay -X smtp" must stay what it says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "parent.h"
#include "smtpd/smtpd.h"
#include "queue/queue.h"
#include "mta/mta.h"
#include "pop/pop.h"
#include "lookup/lookup.h"
#include "control/control.h"

#define CHILD_ARG	"--x-child="

static void	 child_start(const char *) __attribute__((__noreturn__));

static void
child_start(const char *name)
{
	static struct proc_boot	 boot;
	static struct msgchan	 parent;
	int			 id;

	if ((id = proc_byname(name)) == -1) {
		fprintf(stderr, "emailrelay: error: invalid option: "
		    "\"--x-child\"\n");
		exit(1);
	}
	proc_child_init(id, &boot, &parent);
	switch (id) {
	case PROC_SMTP:
		smtpd_main(&boot, &parent);
	case PROC_QUEUE:
		queue_main(&boot, &parent);
	case PROC_MTA:
		mta_main(&boot, &parent);
	case PROC_POP:
		pop_main(&boot, &parent);
	case PROC_LOOKUP:
		lookup_main(&boot, &parent);
	case PROC_CONTROL:
		control_main(&boot, &parent);
	default:
		fatalx("no such process %s", name);
	}
}

int
main(int argc, char *argv[])
{
	log_init("emailrelay");
	setproctitle_init(argc, argv, environ);
	if (argc >= 2 && strncmp(argv[1], CHILD_ARG, strlen(CHILD_ARG)) == 0)
		child_start(argv[1] + strlen(CHILD_ARG));
	return (parent_main(argc, argv));
}
