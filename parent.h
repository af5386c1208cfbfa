/*
 * The parent process: options, listeners, children, supervision.
 */
#ifndef PARENT_H
#define PARENT_H

/* Runs the daemon (or prints help/version); returns the exit status. */
int	 parent_main(int argc, char *argv[]);

#endif /* PARENT_H */
