import javax.management.*;
import javax.management.remote.*;
import java.util.*;

// Prints, every interval ms, one line per cumulative Kafka broker counter:
// <epoch ms> <name> <count>. Re-queries MBean names each time (topics come and go).
public class Sampler {
    public static void main(String[] a) throws Exception {
        String url = a[0];
        long interval = Long.parseLong(a[1]);
        long until = System.currentTimeMillis() + Long.parseLong(a[2]) * 1000;
        JMXConnector c = JMXConnectorFactory.connect(new JMXServiceURL(url));
        MBeanServerConnection s = c.getMBeanServerConnection();
        String[] pats = {
            "kafka.network:type=RequestMetrics,name=RequestsPerSec,*",
            "kafka.server:type=BrokerTopicMetrics,name=TotalProduceRequestsPerSec,*",
            "kafka.server:type=BrokerTopicMetrics,name=TotalFetchRequestsPerSec,*",
            "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,*",
            "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,*",
            "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,*",
        };
        while (System.currentTimeMillis() < until) {
            long t = System.currentTimeMillis();
            StringBuilder sb = new StringBuilder();
            for (String p : pats) {
                for (ObjectName n : s.queryNames(new ObjectName(p), null)) {
                    try {
                        Object v = s.getAttribute(n, "Count");
                        sb.append(t).append(' ').append(n.getKeyPropertyListString().replace(' ', '_')).append(' ').append(v).append('\n');
                    } catch (Exception e) { }
                }
            }
            // the broker process' CPU time
            Object cpu = s.getAttribute(new ObjectName("java.lang:type=OperatingSystem"), "ProcessCpuTime");
            sb.append(t).append(" cpu_ns ").append(cpu).append('\n');
            System.out.print(sb);
            System.out.flush();
            Thread.sleep(interval);
        }
        c.close();
    }
}
