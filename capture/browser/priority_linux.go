package browser

import (
	"os"
	"strconv"
	"syscall"
)

// yieldToPage lowers the CPU priority of every thread of the browser
// process to nice 10. Chrome reports network events to a debugger from
// its browser process; the page's own work runs in the renderer and the
// network service, which keep their priority. On a busy machine the
// browser process then waits for the page instead of slowing it down,
// and the events it owes the recorder come a little later. Nice is per
// thread on Linux, and threads started later inherit it from the thread
// that starts them. Failure only means no yielding.
func yieldToPage(pid int) {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			syscall.Setpriority(syscall.PRIO_PROCESS, tid, browserNice)
		}
	}
}

// browserNice is the nice value of the recording browser's own process.
const browserNice = 10
